"""``vmap``: run a function written for one sample once on a whole batch.

The design is functorch's (and JAX's batching interpreter, eagerly): inside ``vmap`` each
mapped input is a ``BatchedTensor``, a tensor whose shape is one sample's (its *logical*
shape) over a *physical* tensor holding the whole batch, the vmapped dim at the front. While a
``vmap`` runs, ``Op.apply`` hands every op that meets a ``BatchedTensor`` to ``dispatch``, which
unwraps the innermost level and calls the op class's ``batch_rule`` (see ``ops/batching.py``):
the op runs once on the physical tensors and its result is wrapped again. Nested ``vmap``s
nest the wrappers, one level each; a rule unwraps one level and the ops it calls meet the next.

An op without a rule, or whose rule declines a case (by raising ``NotImplementedError`` or
returning None), runs once per sample, with a warning naming it. Transforms called *inside*
``vmap`` (``grad``, ``vjp``, ``jvp``) work on the physical tensors: their inputs are broadcast
over every active batch level (a view, no copy), so the per-sample gradients and tangents are
separate slices of one physical computation (``to_physical`` / ``from_physical``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable
from typing import Any

from chainrule.autograd import function as _function
from chainrule.backend import xp
from chainrule.func import _tree
from chainrule.ops.batching import BatchedIndex
from chainrule.size import Size
from chainrule.tensor import Tensor

_levels: list[int] = []
"""The ids of the running ``vmap`` levels, outermost first."""
_sizes: dict[int, int] = {}
"""The batch size of each running level."""
_ids = itertools.count(1)
_new = object.__new__
_new_size = tuple.__new__


class BatchedTensor(Tensor):
    """One sample's view of a batch inside ``vmap``: ``shape`` is the sample's, the values
    live in ``_value`` (the physical tensor, batch dim first) at vmap level ``_level``."""

    __slots__ = ("_value", "_level")
    _value: Tensor
    _level: int

    @property  # type: ignore[override]
    def array(self) -> Any:
        """Refused: the array holds the whole batch, not this sample (the library reads
        metadata through ``shape``/``dtype``/``ndim``, and a layout check the physical array
        through ``_physical()``)."""
        return self._per_sample(".array")

    def _physical(self) -> Any:
        return self._value._physical()

    @property
    def shape(self) -> Size:  # type: ignore[override]
        return _new_size(Size, self._value.shape[1:])

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    def size(self, dim: int | None = None) -> Any:  # type: ignore[override]
        return self.shape if dim is None else self.shape[dim]

    @property
    def ndim(self) -> int:
        return self._value.ndim - 1

    def dim(self) -> int:
        return self._value.ndim - 1

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._value.shape[1]

    @property  # type: ignore[override]
    def requires_grad(self) -> bool:
        return self._value.requires_grad

    @property  # type: ignore[override]
    def grad_fn(self) -> Any:
        return None

    def detach(self) -> Tensor:
        return wrap(self._value.detach(), self._level)

    @property
    def data(self) -> Tensor:
        """One sample's values outside autograd, batched like this tensor."""
        return wrap(self._value.data, self._level)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._per_sample("assigning .data")

    def _inplace(self, fn: Callable[[Tensor], Tensor]) -> Tensor:
        """In-place ops rebind the physical value (the batch's new values); views of the old
        value do not see the write."""
        out = fn(self)
        if type(out) is BatchedTensor and out._level == self._level:
            value = out._value
        else:
            value = out.unsqueeze(0).expand(self._value.shape[0], *out.shape)
        self._value = value if value.dtype == self.dtype else value.to(self.dtype)
        self._version += 1
        return self

    def __repr__(self) -> str:
        return f"BatchedTensor(lvl={self._level}, bdim=0, value={self._value!r})"

    def _per_sample(self, what: str) -> Any:
        raise RuntimeError(f"vmap: {what} of a batched tensor is not supported: its value "
                           "differs per sample (a data-dependent branch cannot be batched; "
                           "compute with tensor ops instead)")

    def item(self) -> Any:
        return self._per_sample("item()")

    def tolist(self) -> Any:
        return self._per_sample("tolist()")

    def numpy(self) -> Any:
        return self._per_sample("numpy()")

    def __bool__(self) -> bool:
        return self._per_sample("bool()")

    def __float__(self) -> float:
        return self._per_sample("float()")

    def __int__(self) -> int:
        return self._per_sample("int()")

    def __index__(self) -> int:
        return self._per_sample("an index")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self._per_sample("converting to a NumPy array")


def wrap(value: Tensor, level: int) -> BatchedTensor:
    """``value`` (batch dim first) seen as one sample at vmap level ``level``."""
    t = _new(BatchedTensor)
    t.grad = None
    t._version = 0
    t._hooks = None
    t._tangents = None
    t._value = value
    t._level = level
    return t


def dispatch(cls: Any, args: tuple[Tensor, ...], params: dict[str, Any]) -> Tensor | None:
    """``cls`` applied to ``args`` when some are batched (None otherwise): the op's batching
    rule on the innermost level's physical tensors, or one call per sample."""
    level = 0
    for a in args:
        if type(a) is BatchedTensor and a._level > level:
            level = a._level
    index = params.get("index")  # index tensors are params (getitem, index_put)
    indexed = 0
    for p in index if type(index) is tuple else (index,):
        if type(p) is BatchedTensor and p._level > indexed:
            indexed = p._level
    if indexed > level:
        level = indexed
    if not level:
        return None
    values = [a._value if type(a) is BatchedTensor and a._level == level else a for a in args]
    dims = [0 if type(a) is BatchedTensor and a._level == level else None for a in args]
    if indexed == level:
        params = {**params, "index": _mark(index, level)}
    rule = getattr(cls, "batch_rule", None)
    out = None
    why = "it has no batching rule"
    if rule is not None:
        why = "its batching rule declined this case"
        try:
            out = rule(cls, values, dims, params)
        except NotImplementedError as e:
            why += f" ({e})"
    if out is None:
        name = getattr(cls, "name", cls.__name__)  # an op, or a custom autograd.Function
        warnings.warn(f"vmap: {name} runs once per sample because {why}; expect it to be "
                      "slow", stacklevel=3)
        out = _per_sample(cls, values, dims, params)
    return wrap(out, level)


def _mark(index: Any, level: int) -> Any:
    """``index`` with its tensors batched at ``level`` replaced by ``BatchedIndex`` markers
    holding their physical values."""
    if type(index) is tuple:
        return tuple(_mark(p, level) for p in index)
    if type(index) is BatchedTensor and index._level == level:
        return BatchedIndex(index._value)
    return index


def _sample_index(index: Any, i: int) -> Any:
    """``index`` for sample ``i``: each ``BatchedIndex`` becomes that sample's index."""
    if type(index) is tuple:
        return tuple(_sample_index(p, i) for p in index)
    if type(index) is BatchedIndex:
        row = index.value[i]
        return row.array if type(row) is Tensor else row
    return index


def _per_sample(cls: Any, values: list[Tensor], dims: list[int | None],
                params: dict[str, Any]) -> Tensor:
    from chainrule.ops.movement import stack

    size = next((v.shape[0] for v, d in zip(values, dims) if d is not None), None)
    index = params.get("index")
    if size is None:  # only the index is batched
        size = next(p.value.shape[0] for p in (index if type(index) is tuple else (index,))
                    if type(p) is BatchedIndex)
    return stack([cls.apply(*[v[i] if d is not None else v for v, d in zip(values, dims)],
                            **(params if index is None else
                               {**params, "index": _sample_index(index, i)}))
                  for i in range(size)])


_tangent_levels: set[int] = set()
"""Levels that batch only forward-mode tangents (``jacfwd`` outside any ``vmap``): their
primals are not batched, so transforms inside do not broadcast over them."""


def _enter(size: int, tangents_only: bool = False) -> int:
    level = next(_ids)
    _levels.append(level)
    if tangents_only:
        _tangent_levels.add(level)
    _sizes[level] = size
    _function.vmap_dispatch = dispatch
    return level


def _exit(level: int) -> None:
    _levels.remove(level)
    _tangent_levels.discard(level)
    del _sizes[level]
    if not _levels:
        _function.vmap_dispatch = None


def to_physical(x: Tensor, levels: list[int]) -> Tensor:
    """``x`` as a plain tensor with one leading dim per level in ``levels`` (outermost first),
    broadcast (a view) over the levels it is not batched at. A tensor batched by a vmap opened
    inside these levels (a cotangent of a vmapped ``vjp_fn``) stays batched there."""
    if type(x) is BatchedTensor and levels and x._level > levels[-1]:
        return wrap(to_physical(x._value, levels).movedim(len(levels), 0), x._level)
    if type(x) is not BatchedTensor and not x.requires_grad and not x._tangents:
        # a constant shared by every sample: a broadcast view, no graph
        sizes = tuple(_sizes[level] for level in levels)
        return Tensor._wrap(xp.broadcast_to(x.array, (*sizes, *x.shape)))
    for level in reversed(levels):
        if type(x) is BatchedTensor and x._level == level:
            x = x._value
        else:
            x = x.unsqueeze(0).expand(_sizes[level], *x.shape)
    return x


def from_physical(x: Tensor, levels: list[int]) -> Tensor:
    """The inverse of ``to_physical``: the leading dims of ``x`` become vmap levels again."""
    if type(x) is BatchedTensor and levels and x._level > levels[-1]:
        return wrap(from_physical(x._value.movedim(0, len(levels)), levels), x._level)
    for level in levels:
        x = wrap(x, level)
    return x


def active_levels() -> list[int]:
    """The running vmap levels that batch values (not only tangents), outermost first."""
    return [level for level in _levels if level not in _tangent_levels]


def batch_tangents(func: Callable[..., Any], tangents: list[Tensor]) -> list[Tensor]:
    """``func(*wrapped)`` where each tangent (batch dim first) is wrapped at a new level that
    batches only tangents; the outputs with their batch dim first (broadcast where an output
    does not depend on the tangents)."""
    size = tangents[0].shape[0]
    level = _enter(size, tangents_only=True)
    try:
        outs = func(*[wrap(t, level) for t in tangents])
    finally:
        _exit(level)
    return [o._value if type(o) is BatchedTensor and o._level == level
            else o.unsqueeze(0).expand(size, *o.shape) for o in outs]


def vmap(func: Callable[..., Any], in_dims: Any = 0, out_dims: Any = 0,
         randomness: str = "error", *, chunk_size: int | None = None) -> Callable[..., Any]:
    """Vectorise ``func`` over dimension ``in_dims`` of its inputs (``torch.func.vmap``).

    ``func`` runs once, on the whole batch: each op inside it applies its batching rule (ops
    without one run once per sample, with a warning).

    Args:
        func: a function of Tensors (or trees of them) written for one sample.
        in_dims: the batch dim of every input (an int), or one entry per positional argument:
            an int, None for an argument shared by all samples, or a tree shaped like the
            argument.
        out_dims: where the batch dim goes in each output (an int, or a tree shaped like the
            outputs; None for an output that is the same for every sample).
        randomness: ``'error'``, ``'different'`` or ``'same'``, as ``torch.func.vmap``.
            NOTE: random ops draw for one sample's shape, so their values are shared across
            the batch, as ``'same'``.
        chunk_size: run at most this many samples at a time (bounds memory); None runs all.

    Example:
        >>> import chainrule as cr
        >>> batched_dot = cr.func.vmap(cr.dot)
        >>> batched_dot(cr.ones(3, 2), cr.ones(3, 2))
        tensor([2., 2., 2.])
    """
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got "
                         f"{randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_dims, (tuple, list)):
            if len(in_dims) != len(args):
                raise ValueError(f"vmap: in_dims has {len(in_dims)} entries but func got "
                                 f"{len(args)} positional arguments")
        flat, treedef = _tree.flatten(list(args))
        dims = _leaf_dims(in_dims if isinstance(in_dims, (tuple, list)) else [in_dims] * len(args),
                          list(args), "in_dims")
        size = None
        for x, d in zip(flat, dims):
            if d is None:
                continue
            if not isinstance(x, Tensor):
                raise TypeError(f"vmap: in_dim={d} given for an input of type "
                                f"{type(x).__name__}; only Tensors can be mapped (use None)")
            if not -max(x.ndim, 1) <= d < x.ndim:
                raise ValueError(f"vmap: in_dim {d} is out of range for an input of shape "
                                 f"{tuple(x.shape)}")
            n = x.shape[d]
            if size is not None and n != size:
                raise ValueError(f"vmap: inputs have different sizes along the mapped "
                                 f"dims: {size} and {n}")
            size = n
        if size is None:
            raise ValueError("vmap: at least one input must be mapped (in_dims not all None)")
        moved = [x if d is None else x.movedim(d, 0) for x, d in zip(flat, dims)]
        step = size if chunk_size is None else chunk_size
        runs = []
        for start in range(0, size, step):
            part = moved if step >= size else [
                x if d is None else x[start:start + step] for x, d in zip(moved, dims)]
            runs.append(_run(func, part, dims, treedef, min(step, size - start), kwargs,
                             out_dims))
        out_def = runs[0][1]
        leaves = runs[0][0] if len(runs) == 1 else [
            _cat([r[0][k] for r in runs], od) for k, od in enumerate(runs[0][2])]
        return _tree.unflatten(out_def, leaves)

    return wrapper


def _run(func: Callable[..., Any], flat: list[Any], dims: list[int | None], treedef: Any,
         size: int, kwargs: dict[str, Any], out_dims: Any) -> tuple[list[Any], Any, list[Any]]:
    """One call of ``func`` on ``size`` samples (mapped inputs batched at the front)."""
    level = _enter(size)
    try:
        batched = [x if d is None else wrap(x, level) for x, d in zip(flat, dims)]
        out = func(*_tree.unflatten(treedef, batched), **kwargs)
    finally:
        _exit(level)
    leaves, out_def = _tree.flatten(out)
    odims = _leaf_dims(out_dims, out, "out_dims")
    result = []
    for leaf, od in zip(leaves, odims):
        batched_leaf = type(leaf) is BatchedTensor and leaf._level == level
        if od is None:
            if batched_leaf:
                raise ValueError("vmap: out_dims is None for an output that differs per sample")
            result.append(leaf)
            continue
        if not isinstance(leaf, Tensor):
            raise TypeError(f"vmap: func must return Tensors for outputs with an out_dim, got "
                            f"{type(leaf).__name__}")
        v = leaf._value if batched_leaf else leaf.unsqueeze(0).expand(size, *leaf.shape)
        result.append(v if od == 0 else v.movedim(0, od))
    return result, out_def, odims


def _cat(pieces: list[Any], dim: int | None) -> Any:
    from chainrule.ops.movement import cat

    return pieces[0] if dim is None else cat(pieces, dim)


def _leaf_dims(spec: Any, tree: Any, what: str) -> list[int | None]:
    """One dim per leaf of ``tree``: ``spec`` is an int or None for the whole tree, or a tree
    shaped like it (a prefix of its structure)."""
    if spec is None or isinstance(spec, int):
        return [spec] * len(_tree.flatten(tree)[0])
    if isinstance(spec, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(spec) != len(tree):
            raise ValueError(f"vmap: {what} {spec!r} does not match the structure of the "
                             f"{'inputs' if what == 'in_dims' else 'outputs'}")
        return [d for s, t in zip(spec, tree) for d in _leaf_dims(s, t, what)]
    if isinstance(spec, dict) and isinstance(tree, dict) and spec.keys() == tree.keys():
        return [d for k in tree for d in _leaf_dims(spec[k], tree[k], what)]
    if isinstance(spec, (tuple, list)) and len(spec) == 1 and not isinstance(tree, (tuple, list)):
        return _leaf_dims(spec[0], tree, what)
    raise ValueError(f"vmap: {what} {spec!r} does not match the structure of the "
                     f"{'inputs' if what == 'in_dims' else 'outputs'}")
