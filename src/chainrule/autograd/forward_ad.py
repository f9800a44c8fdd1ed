"""Forward-mode AD (``torch.autograd.forward_ad``): ``make_dual`` and ``unpack`` over the levels
and tangents of ``autograd/tangents.py``, whose ``enter_level``, ``exit_level``, ``levels``,
``tangent_of`` and ``propagate`` are re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainrule.autograd.tangents import enter_level, exit_level, levels, propagate, tangent_of
from chainrule.ops.shape import Reshape

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

__all__ = ["enter_level", "exit_level", "levels", "make_dual", "propagate", "tangent_of",
           "unpack"]


def make_dual(primal: Tensor, tangent: Tensor, level: int) -> Tensor:
    """A new tensor equal to ``primal`` (linked to its graph and its outer tangents) that also
    carries ``tangent`` at ``level``. ``primal`` itself is left unchanged."""
    if tangent.shape != primal.shape:
        raise ValueError(
            f"jvp: tangent shape {tuple(tangent.shape)} does not match primal shape "
            f"{tuple(primal.shape)}"
        )
    dual = Reshape.apply(primal, shape=primal.shape)  # a fresh node, never ``primal`` itself
    if dual._tangents is None:
        dual._tangents = {}
    dual._tangents[level] = tangent.to(primal.dtype)
    return dual


def unpack(dual: Tensor, level: int) -> Tensor:
    """A new tensor equal to ``dual`` without its tangent at ``level`` (outer ones kept)."""
    out = Reshape.apply(dual, shape=dual.shape)
    if out._tangents:
        out._tangents.pop(level, None)
    return out
