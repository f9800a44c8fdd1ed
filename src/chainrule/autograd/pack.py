"""``pack`` / ``unpack``: several tensors as one flat tensor and back, so that one graph node
(a checkpointed segment) or one gradient hook (a module's backward hooks) sees the gradients
of several tensors together."""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.autograd.function import Op
from chainrule.backend import Array, xp
from chainrule.tensor import Tensor


class Pack(Op):
    """The inputs raveled end to end in their common dtype.  ∂/∂xᵢ = gᵢ, the slice of g at
    xᵢ's place reshaped to xᵢ's shape; tangent: the tangents packed alike.

    Unregistered: an internal node, checked through ``checkpoint`` and the module hooks."""

    name = "pack"
    saves_inputs = False
    packed: Array | None

    def forward(self, *xs: Array) -> Array:
        if self.packed is not None:  # computed already (a checkpoint's first forward)
            return self.packed
        dtype = xp.result_type(*xs)
        return xp.concatenate([x.reshape(-1).astype(dtype, copy=False) for x in xs])

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return tuple(split(g, self.inputs))

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        return pack([Tensor._wrap(xp.zeros(x.shape, x.dtype)) if t is None else t
                     for x, t in zip(self.inputs, tangents)])


def pack(tensors: Sequence[Tensor], packed: Array | None = None) -> Tensor:
    """One flat tensor holding ``tensors`` (``packed``: their values, already computed)."""
    return Pack.apply(*tensors, packed=packed)


def split(flat: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    """``flat`` cut into pieces shaped like ``like`` (differentiable)."""
    pieces, offset = [], 0
    for t in like:
        n = t.numel()
        pieces.append(flat[offset:offset + n].reshape(t.shape))
        offset += n
    return pieces


def unpack(flat: Tensor, like: Sequence[Tensor]) -> list[Tensor]:
    """``split``, each piece in the dtype of its ``like`` tensor."""
    return [p.to(t.dtype) for p, t in zip(split(flat, like), like)]
