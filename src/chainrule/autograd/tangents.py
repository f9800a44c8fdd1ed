"""Forward-mode AD's state: tangents carried beside primal values, one level per active ``jvp``.

A tensor's tangents live in ``Tensor._tangents`` keyed by level (a fresh integer per ``jvp``
call, so a stale tangent of a closed level is never confused with a live one). ``Op.apply``
calls ``propagate`` while any level is open, which asks the op's ``jvp`` rule for the output's
tangent.

Nesting: levels are processed outermost first. The tangent at level k is computed with only the
levels *outside* k open, so that tangent is itself differentiated by every outer level
(``jacfwd(jacfwd(f))`` reads the outer tangent of the inner tangent) and inner levels never
attach tangents to an outer level's tangent (wasted work, and a source of perturbation
confusion). Inside ``jvp``, ``Op.output()`` returns the dual result, whose outer tangents are
already set.
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


def tangent_of(t: Tensor, level: int) -> Tensor | None:
    """The tangent ``t`` carries at ``level``, or None (zero)."""
    return t._tangents.get(level) if t._tangents else None


def propagate(op: Op, inputs: tuple[Tensor, ...], out: Array, result: Tensor) -> None:
    """Compute ``result``'s tangent at every open level from its inputs' tangents."""
    if not op.differentiable or result.dtype.kind not in "fc":
        return
    opened = tuple(levels)
    for position, level in enumerate(opened):
        tangents = [t._tangents.get(level) if t._tangents else None for t in inputs]
        if all(t is None for t in tangents):
            continue
        if getattr(op, "inputs", None) is None:  # not recorded for reverse mode
            op.inputs, op.out = inputs, out
        op._fw_result, op._fw_level = result, level
        levels[:] = opened[:position]  # only outer levels see the rule's own ops
        try:
            tangent = op.jvp(*tangents)
        finally:
            levels[:] = opened
            del op._fw_result, op._fw_level
        if tangent is not None:
            if tangent.shape != result.shape:
                tangent = tangent.expand(result.shape)
            if tangent.dtype != result.dtype:
                tangent = tangent.to(result.dtype)
            if result._tangents is None:
                result._tangents = {}
            result._tangents[level] = tangent
