"""A minimal pytree: nested tuples, lists and dicts whose leaves are Tensors (or anything else,
kept as opaque leaves). Enough for ``grad`` of a dict of parameters or a tuple of outputs."""

from __future__ import annotations

from typing import Any

Tree = Any
TreeDef = Any


def flatten(tree: Tree) -> tuple[list[Any], TreeDef]:
    """The leaves of ``tree`` in order, and a description to rebuild it with ``unflatten``."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Tree, leaves: list[Any]) -> TreeDef:
    if isinstance(tree, (tuple, list)):
        return (type(tree), [_flatten(x, leaves) for x in tree])
    if isinstance(tree, dict):
        return (dict, {k: _flatten(v, leaves) for k, v in tree.items()})
    leaves.append(tree)
    return None


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Tree:
    """The tree described by ``treedef`` with ``leaves`` put back in order."""
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(treedef: TreeDef, it: Any) -> Tree:
    if treedef is None:
        return next(it)
    kind, children = treedef
    if kind is dict:
        return {k: _unflatten(v, it) for k, v in children.items()}
    items = [_unflatten(c, it) for c in children]
    if kind is list:
        return items
    return kind(*items) if hasattr(kind, "_fields") else tuple(items)  # named tuples too


def map_leaves(fn: Any, tree: Tree) -> Tree:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])
