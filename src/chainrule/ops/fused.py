"""Fused primitives kept whole for numerical stability and speed: softmax and log-softmax.

NOTE: composed from exp/sum/log these would overflow for large logits and cost several passes;
as primitives they are one shifted pass each, with the classic compact backward rules.
"""

from __future__ import annotations

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, is_floating, xp
from chainrule.ops import batching
from chainrule.tensor import Tensor


@register
class Softmax(Op):
    """softmax along ``dim``: y = e^(x − max) / Σ e^(x − max).  ∂/∂x = y·(g − Σ g·y)."""

    name = "softmax"
    batch_rule = staticmethod(batching.shifted("dim"))
    saves_inputs = False
    dim: int

    def forward(self, x: Array) -> Array:
        if x.size == 0:  # an empty dim has no max; the result is empty, as in PyTorch
            return xp.empty_like(x)
        e = xp.exp(x - x.max(axis=self.dim, keepdims=True))
        e /= e.sum(axis=self.dim, keepdims=True)
        return e

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        y = self.output()
        return (y * (g - (g * y).sum(self.dim, keepdim=True)),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        y = self.output()
        return y * (t - (t * y).sum(self.dim, keepdim=True))


@register
class LogSoftmax(Op):
    """log-softmax along ``dim``: x − logsumexp(x).  ∂/∂x = g − softmax(x)·Σ g."""

    name = "log_softmax"
    batch_rule = staticmethod(batching.shifted("dim"))
    saves_inputs = False
    dim: int

    def forward(self, x: Array) -> Array:
        if x.size == 0:  # an empty dim has no max; the result is empty, as in PyTorch
            return xp.empty_like(x)
        shifted = x - x.max(axis=self.dim, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.dim, keepdims=True))

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g - self.output().exp() * g.sum(self.dim, keepdim=True),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t - (self.output().exp() * t).sum(self.dim, keepdim=True)


def _dim(x: Tensor, dim: int | None, op: str) -> int:
    if dim is None:
        dim = 0 if x.ndim in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape {x.shape}")
    return dim % max(x.ndim, 1)


def softmax(input: Tensor, dim: int | None = None, dtype: object = None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.softmax(cr.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([0.0900, 0.2447, 0.6652])
    """
    if dtype is not None:
        input = input.to(dtype)
    if not is_floating(input.dtype):
        raise RuntimeError(f"softmax: not implemented for dtype {input.dtype} (floating-point "
                           "input only; pass dtype= to compute in a floating type)")
    return Softmax.apply(input, dim=_dim(input, dim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, dtype: object = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably.

    Example:
        >>> import chainrule as cr
        >>> cr.log_softmax(cr.tensor([1.0, 1.0]), dim=0)
        tensor([-0.6931, -0.6931])
    """
    if dtype is not None:
        input = input.to(dtype)
    if not is_floating(input.dtype):
        raise RuntimeError(f"log_softmax: not implemented for dtype {input.dtype} (floating-point "
                           "input only; pass dtype= to compute in a floating type)")
    return LogSoftmax.apply(input, dim=_dim(input, dim, "log_softmax"))
