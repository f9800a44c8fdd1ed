"""Fused scaled dot-product attention: softmax(q kᵀ·scale + mask) v as one primitive.

NOTE: composed from primitives attention is ~6 graph nodes (scale, matmul, mask add, softmax,
matmul) whose backward allocates a fresh array per node; fused, the scores are computed, masked
and normalised in place in one buffer that the backward reuses as the softmax output, and the
backward is four batched GEMMs and one in-place softmax-gradient pass.

NOTE: causal attention over 64 or more queries runs its products by blocks of queries (and of
keys in the backward), each over the keys its queries see, as flash attention skips masked
blocks: with four blocks the products do 5/8 of the full work, and a GPT block's four
products took 20-30 % less time at L 128 (16 × 4 heads, head size 32).
"""

from __future__ import annotations

from chainrule import kernels
from chainrule.autograd.autocast_policy import policy as autocast
from chainrule.autograd.function import register
from chainrule.backend import Array, compact, matmul, xp
from chainrule.ops import batching
from chainrule.ops.composite_twin import Fused
from chainrule.ops.fused import softmax
from chainrule.tensor import Tensor


@register
class ScaledDotProductAttention(Fused):
    """Attention of q (..., L, E) over k (..., S, E) and v (..., S, Ev), batch dims
    broadcasting, with an optional additive float ``mask`` broadcastable to (..., L, S) and,
    with ``is_causal``, keys after each query masked out (the upper triangle of L×S).

    P = softmax(q kᵀ·scale + mask), y = P v. With G = ∂L/∂y:  ∂/∂v = Pᵀ G,
    dS = P ⊙ (G vᵀ − rowsum(P ⊙ G vᵀ)),  ∂/∂q = dS k·scale,  ∂/∂k = dSᵀ q·scale,
    ∂/∂mask = dS.
    """

    name = "scaled_dot_product_attention"
    batch_rule = staticmethod(batching.elementwise)  # the leading dims broadcast
    scale: float
    is_causal: bool

    def forward(self, q: Array, k: Array, v: Array, mask: Array | None = None) -> Array:
        if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] \
                or k.shape[-2] != v.shape[-2]:
            raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q.shape)}, key "
                               f"{tuple(k.shape)} and value {tuple(v.shape)} do not fit "
                               "(expected (..., L, E), (..., S, E), (..., S, Ev))")
        # the operands as BLAS reads them fastest (copies of the heads sliced out of a fused
        # projection), kept for the backward's four products
        q, kt, v = compact(q), compact(k.swapaxes(-1, -2)), compact(v)
        self.dense = (q, kt, v)
        self.blocks = _causal_blocks(q, kt, v) if self.is_causal and mask is None else None
        if self.blocks is not None:
            p = _seen(q, kt, self.blocks, rest=False)
        else:
            p = matmul(q, kt)
        self.jit = kernels.fits(p) and p.size > 0 and p.flags.c_contiguous and (
            mask is None or xp.broadcast_shapes(p.shape, mask.shape) == p.shape)
        if self.jit:  # two compiled passes and NumPy's exp
            if mask is not None:
                p *= self.scale
                p += mask
            kernels.softmax.softmax_(p, 1.0 if mask is not None else self.scale, self.is_causal)
            self.probs = p
            return matmul(p, v) if self.blocks is None else _over_seen(p, v, self.blocks)
        p *= self.scale
        if mask is not None:
            if xp.broadcast_shapes(p.shape, mask.shape) == p.shape:
                p += mask
            else:
                p = p + mask
        if self.is_causal:
            L, S = p.shape[-2:]
            xp.copyto(p, -xp.inf, where=~xp.tri(L, S, dtype=bool))
        if p.shape[-1]:  # with no keys (S = 0) the output is P v = 0, as in PyTorch
            p -= p.max(axis=-1, keepdims=True)
            xp.exp(p, out=p)
            p /= p.sum(axis=-1, keepdims=True)
        self.probs = p
        return matmul(p, v)

    def backward_arrays(self, g: Array) -> tuple[Array | None, ...]:
        if self.blocks is not None:
            return self._blocked_grads(compact(g))
        q, kt, v = self.dense
        p = self.probs
        need = self.needs_input_grad
        g = compact(g)
        gv = matmul(p.swapaxes(-1, -2), g) if need[2] else None
        ds = matmul(g, v.swapaxes(-1, -2))
        scale = self.scale  # applied to ds or to its products
        if self.jit and ds.dtype == p.dtype and ds.flags.c_contiguous:
            p = _broadcast(p, ds.shape)
            if len(self.inputs) == 3:  # no mask gradient: fold the scale into ds
                kernels.softmax.softmax_backward_(p, ds, scale)
                scale = 1.0
            else:
                kernels.softmax.softmax_backward_(p, ds, 1.0)
        else:
            ds -= xp.einsum("...ij,...ij->...i", ds, p)[..., None]
            ds *= p
        gq = gk = None
        if need[0]:
            gq = matmul(ds, kt.swapaxes(-1, -2))
            if scale != 1.0:
                gq *= scale
        if need[1]:
            gk = matmul(ds.swapaxes(-1, -2), q)
            if scale != 1.0:
                gk *= scale
        grads = (gq, gk, gv)
        return grads + (ds,) if len(self.inputs) == 4 else grads

    def _blocked_grads(self, g: Array) -> tuple[Array | None, ...]:
        """The gradients of causal attention by blocks: a query block's products over the keys
        it sees, a key block's over the queries that see it (keys no query sees get 0)."""
        q, kt, v = self.dense
        p, blocks, need = self.probs, self.blocks, self.needs_input_grad
        k, vt = kt.swapaxes(-1, -2), v.swapaxes(-1, -2)
        ds = _seen(g, vt, blocks)  # G vᵀ, 0 past the keys seen (P is 0 there)
        p = _broadcast(p, ds.shape)
        kernels.softmax.softmax_backward_(p, ds, self.scale)
        gq = _over_seen(ds, k, blocks) if need[0] else None
        gk = _seen_by(ds, q, blocks) if need[1] else None
        gv = _seen_by(p, g, blocks) if need[2] else None
        return gq, gk, gv

    @staticmethod
    def composite(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, *,
                  scale: float, is_causal: bool) -> Tensor:
        scores = (q @ k.mT) * scale
        if mask is not None:
            scores = scores + mask
        if is_causal:
            L, S = scores.shape[-2:]
            scores = scores + Tensor._wrap(xp.where(xp.tri(L, S, dtype=bool), 0.0, -xp.inf)
                                           .astype(scores.dtype))
        return softmax(scores, -1) @ v


def _batch(*arrays: Array) -> tuple[int, ...]:
    """The broadcast batch shape of matrices (the axes before the last two)."""
    return xp.broadcast_shapes(*(a.shape[:-2] for a in arrays))


def _broadcast(p: Array, shape: tuple[int, ...]) -> Array:
    """The probabilities spread over the batch shape of their gradient (a value broadcast over
    more batch dims than the queries and keys), as the softmax-gradient kernel reads them."""
    return p if p.shape == shape else xp.ascontiguousarray(xp.broadcast_to(p, shape))


def _seen(x: Array, yt: Array, blocks: list[tuple[int, int, int]], rest: bool = True
          ) -> Array:
    """x yᵀ (..., L, S) for each query block over the keys it sees; 0 past them, or left
    unwritten without ``rest`` (the softmax writes its own values there)."""
    out = xp.empty(_batch(x, yt) + (x.shape[-2], yt.shape[-1]), x.dtype)
    for a, b, kb in blocks:
        xp.matmul(x[..., a:b, :], yt[..., :kb], out=out[..., a:b, :kb])
        if rest:
            out[..., a:b, kb:] = 0
    return out


def _over_seen(s: Array, y: Array, blocks: list[tuple[int, int, int]]) -> Array:
    """s y (..., L, ·) for scores s (..., L, S) that are 0 past each query block's keys."""
    out = xp.empty(_batch(s, y) + (s.shape[-2], y.shape[-1]), s.dtype)
    for a, b, kb in blocks:
        xp.matmul(s[..., a:b, :kb], y[..., :kb, :], out=out[..., a:b, :])
    return out


def _seen_by(s: Array, y: Array, blocks: list[tuple[int, int, int]]) -> Array:
    """sᵀ y (..., S, ·) for scores s (..., L, S) of causal attention: keys c..d of a block
    are seen by queries c.. only; keys no query sees get 0."""
    S = s.shape[-1]
    out = xp.zeros(_batch(s, y) + (S, y.shape[-1]), s.dtype)
    for c, d, _ in blocks:
        if c < S:
            d = min(d, S)
            xp.matmul(s[..., c:, c:d].swapaxes(-1, -2), y[..., c:, :], out=out[..., c:d, :])
    return out


def _causal_blocks(q: Array, kt: Array, v: Array) -> list[tuple[int, int, int]] | None:
    """Query blocks ``(start, end, keys seen)`` for causal attention of q (..., L, E) over
    kᵀ (..., E, S), top-left aligned (query i sees keys j ≤ i): four blocks of at least 32
    queries; None for fewer than 64 queries, no keys, or arrays the kernels do not take."""
    L, S = q.shape[-2], kt.shape[-1]
    if L < 64 or S == 0 or not kernels.fits(q, kt, v):
        return None
    rows = max(32, -(-L // 4))
    return [(a, min(a + rows, L), min(a + rows, L, S)) for a in range(0, L, rows)]


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None,
                                 scale: float, is_causal: bool) -> Tensor:
    """The fused attention (see ``ScaledDotProductAttention``); ``mask`` is additive. float16
    and bfloat16 inputs, and any under autocast (whose matmuls run in the low precision), take
    the composite twin: NumPy's einsum has no kernels for them."""
    args = (q, k, v) if mask is None else (q, k, v, mask)
    if q.dtype not in (xp.float32, xp.float64) or autocast.dtype is not None:
        return ScaledDotProductAttention.composite(*args, scale=scale, is_causal=is_causal)
    return ScaledDotProductAttention.apply(*args, scale=scale, is_causal=is_causal)
