"""Dual tensors for forward mode: ``make_dual`` and ``unpack`` (public as
``chainrule.autograd.forward_ad``), here beside the no-op ``Reshape`` node they are made of, so
that ops computing forward mode through a composite need not import the autograd API."""

from __future__ import annotations

from chainrule.ops.shape import Reshape
from chainrule.tensor import Tensor


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
