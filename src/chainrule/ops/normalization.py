"""Fused layer normalisation: one primitive for (x − mean) / √(var + eps) · weight + bias.

NOTE: composed from primitives a layer norm is ~9 graph nodes, each a full pass over the
activations forward and more backward; fused, the forward is four passes and the backward
uses the closed form below, with the normalised input and 1/σ saved from the forward.
"""

from __future__ import annotations

import math

from chainrule import kernels
from chainrule.autograd.function import register
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.composite_twin import Fused
from chainrule.tensor import Tensor


@register
class LayerNorm(Fused):
    """Layer norm over the trailing ``ndim`` dims of x, with optional ``weight`` and ``bias``
    (both present or both absent) of that trailing shape.

    y = x̂·w + b with x̂ = (x − μ)·r, r = 1/√(σ² + eps) (biased variance) over the N trailing
    elements. With ĝ = g·w:  ∂/∂x = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  ∂/∂w = Σ g·x̂,  ∂/∂b = Σ g
    (sums over the leading dims).
    """

    name = "layer_norm"
    batch_rule = staticmethod(batching.layer_norm)
    ndim: int
    eps: float

    def forward(self, x: Array, w: Array | None = None, b: Array | None = None) -> Array:
        if x.size == 0:  # nothing to normalise (PyTorch returns the empty input's shape too)
            return xp.empty(x.shape, x.dtype if w is None else xp.result_type(x, w, b))
        n = math.prod(x.shape[x.ndim - self.ndim:])
        x2 = x.reshape(-1, n)
        if kernels.fits(x, *(() if w is None else (w, b))):  # one compiled pass
            w1, b1 = _affine(w, b, n, x.dtype)
            out, mean, rstd = kernels.normalization.layer_norm(x2, w1, b1, self.eps)
            self.saved, self.stats = None, (x2, w1, mean, rstd)
            return out.reshape(x.shape)
        xhat = x2 - x2.mean(axis=1, keepdims=True)
        var = xp.einsum("ij,ij->i", xhat, xhat)
        var /= n
        var += self.eps
        r = xp.sqrt(var, out=var)
        xp.reciprocal(r, out=r)
        r = r[:, None]
        xhat *= r
        self.saved = (xhat, r)
        if w is None:
            return xhat.reshape(x.shape).copy()
        out = xhat * w.reshape(-1)
        out += b.reshape(-1)
        return out.reshape(x.shape)

    def backward_arrays(self, g: Array) -> tuple[Array | None, ...]:
        if g.size == 0:  # every gradient is a sum over the empty g
            return tuple(xp.zeros_like(t.array) if need else None
                         for t, need in zip(self.inputs, self.needs_input_grad))
        if self.saved is None:
            return self._kernel_backward(g)
        xhat, r = self.saved
        n = xhat.shape[1]
        g2 = g.reshape(-1, n)
        need = self.needs_input_grad
        grads: tuple[Array | None, ...] = ()
        if len(self.inputs) == 3:
            w = self.inputs[1].array
            gw = xp.einsum("ij,ij->j", g2, xhat).reshape(w.shape) if need[1] else None
            gb = g2.sum(axis=0).reshape(w.shape) if need[2] else None
            grads = (gw, gb)
            gxhat = g2 * w.reshape(-1)
        else:
            gxhat = g2.copy()
        if not need[0]:
            return (None, *grads)
        c2 = xp.einsum("ij,ij->i", gxhat, xhat)[:, None]
        c2 /= n
        gxhat -= gxhat.mean(axis=1, keepdims=True)
        gxhat -= xhat * c2
        gxhat *= r
        return (gxhat.reshape(g.shape), *grads)

    def _kernel_backward(self, g: Array) -> tuple[Array | None, ...]:
        x2, w1, mean, rstd = self.stats
        gx, gw, gb = kernels.normalization.layer_norm_backward(
            x2, g.reshape(x2.shape).astype(x2.dtype, copy=False), w1, mean, rstd,
            self.needs_input_grad[0])
        if gx is not None:
            gx = gx.reshape(g.shape)
        if len(self.inputs) == 1:
            return (gx,)
        shape = self.inputs[1].shape
        need = self.needs_input_grad
        return (gx, gw.reshape(shape) if need[1] else None, gb.reshape(shape) if need[2] else None)

    @staticmethod
    def composite(x: Tensor, w: Tensor | None = None, b: Tensor | None = None, *, ndim: int,
                  eps: float) -> Tensor:
        axes = tuple(range(x.ndim - ndim, x.ndim))
        centered = x - x.mean(axes, keepdim=True)
        var = (centered * centered).mean(axes, keepdim=True)
        out = centered * (var + eps).rsqrt()
        return out if w is None else out * w + b


def _affine(w: Array | None, b: Array | None, n: int, dtype: object) -> tuple[Array, Array]:
    """w and b flat, or ones and zeros when absent, for the kernel."""
    if w is None:
        return xp.ones(n, dtype), xp.zeros(n, dtype)
    return xp.ascontiguousarray(w.reshape(-1)), xp.ascontiguousarray(b.reshape(-1))


def layer_norm(x: Tensor, ndim: int, weight: Tensor | None, bias: Tensor | None,
               eps: float) -> Tensor:
    """The fused layer norm over the trailing ``ndim`` dims (see ``LayerNorm``); float16 and
    bfloat16 inputs take the composite twin (NumPy's einsum has no kernels for them)."""
    fused = x.dtype in (xp.float32, xp.float64)
    if fused and weight is not None and bias is not None:
        return LayerNorm.apply(x, weight, bias, ndim=ndim, eps=eps)
    out = LayerNorm.apply(x, ndim=ndim, eps=eps) if fused else LayerNorm.composite(
        x, ndim=ndim, eps=eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias
