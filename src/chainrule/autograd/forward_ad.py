"""Forward-mode AD: tangents carried beside primal values, one level per active ``jvp``.

A tensor's tangents live in ``Tensor._tangents`` keyed by level. ``Op.apply`` calls
``propagate`` while any level is open, which asks the op's ``jvp`` rule for the output's
tangent. Levels are processed outermost first, so the tangent at an inner level is itself
differentiated by outer ones (``jacfwd(jacfwd(f))``).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainrule.autograd.function import Op
    from chainrule.backend import Array
    from chainrule.tensor import Tensor

levels: list[int] = []
"""The open forward-mode levels, outermost first; empty when forward mode is off."""
_ids = itertools.count(1)


def enter_level() -> int:
    """Open a new (innermost) level and return its id."""
    level = next(_ids)
    levels.append(level)
    return level


def exit_level(level: int) -> None:
    """Close a level opened by ``enter_level``."""
    levels.remove(level)


def make_dual(primal: Tensor, tangent: Tensor, level: int) -> Tensor:
    """A tensor equal to ``primal`` (sharing its graph) that carries ``tangent`` at ``level``."""
    if tangent.shape != primal.shape:
        raise ValueError(
            f"jvp: tangent shape {tangent.shape} does not match primal shape {primal.shape}"
        )
    dual = primal.view_as(primal)
    dual._tangents = dict(primal._tangents or {})
    dual._tangents[level] = tangent.to(primal.dtype)
    return dual


def tangent_of(t: Tensor, level: int) -> Tensor | None:
    """The tangent ``t`` carries at ``level``, or None (zero)."""
    return t._tangents.get(level) if t._tangents else None


def propagate(op: Op, inputs: tuple[Tensor, ...], out: Array, result: Tensor) -> None:
    """Compute ``result``'s tangent at every open level from its inputs' tangents."""
    if not op.differentiable:
        return
    for level in tuple(levels):
        tangents = [t._tangents.get(level) if t._tangents else None for t in inputs]
        if all(t is None for t in tangents):
            continue
        try:
            op.inputs
        except AttributeError:
            op.inputs, op.out = inputs, out
        op._fw_result = result
        position = levels.index(level)
        levels.pop(position)
        try:
            tangent = op.jvp(*tangents)
        finally:
            levels.insert(position, level)
            del op._fw_result
        if tangent is not None:
            if tangent.shape != result.shape:
                tangent = tangent.expand(result.shape)
            if result._tangents is None:
                result._tangents = {}
            result._tangents[level] = tangent
