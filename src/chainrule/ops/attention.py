"""Fused scaled dot-product attention: softmax(q kᵀ·scale + mask) v as one primitive.

NOTE: composed from primitives attention is ~6 graph nodes (scale, matmul, mask add, softmax,
matmul) whose backward allocates a fresh array per node; fused, the scores are computed, masked
and normalised in place in one buffer that the backward reuses as the softmax output, and the
backward is four batched GEMMs and one in-place softmax-gradient pass.

NOTE: causal attention over 64 or more queries runs its products by blocks of queries (and of
keys in the backward), each over the keys its queries see, as flash attention skips masked
blocks: with four blocks the products do 5/8 of the full work, and a GPT block's four
products took 20-30 % less time at L 128 (16 × 4 heads, head size 32).

NOTE: through the kernels, the batch (heads × samples) is cut into one piece per thread
(``threads.split``), and each piece runs the whole attention, its products and its softmax,
on one thread: the scores stay in that core's cache, and there is one hand-off each way
instead of one per step. A GPT block's attention (the shapes above) took 2.0 against 2.8 ms
forward and 2.4 against 3.3 ms backward on two threads.

NOTE: where MKL runs on OpenMP (the ``mkl`` extra) and there is no mask, each piece is wholly
compiled and runs on MKL's own threads (``kernels.attention``), reading q, k and v where they
lie (the heads of a fused projection, with no copies) and writing the output and the
gradients with the heads inner, as PyTorch lays them out. Handing a piece to a Python worker
cost 30-130 µs; a fork onto MKL's threads costs 2-7 µs. The same GPT attention: 1.07 against
1.56 ms forward and 1.5 against 2.5 ms backward (PyTorch 0.89 and 2.4 ms), and gpt's step
went from 102 to 88 ms.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from chainrule import kernels, mkl, threads
from chainrule.autograd.autocast_policy import policy as autocast
from chainrule.autograd.function import register
from chainrule.backend import Array, compact, matmul, row_major, xp
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
        self.on_team = _fits_team(q, k, v, mask)
        if self.on_team:
            return self._on_team(q, k, v)
        # the operands as BLAS reads them fastest (copies of the heads sliced out of a fused
        # projection), kept for the backward's four products
        q, kt, v = compact(q), compact(k.swapaxes(-1, -2)), compact(v)
        self.dense = (q, kt, v)
        scores = _batch(q, kt, v) + (q.shape[-2], kt.shape[-1])
        self.jit = q.size > 0 and kt.size > 0 and kernels.fits(q, kt, v) and (
            mask is None or xp.broadcast_shapes(scores, mask.shape) == scores)
        if self.jit:  # two compiled passes and NumPy's exp
            self.blocks = _causal_blocks(*scores[-2:]) if self.is_causal and mask is None \
                else None
            return self._attend(q, row_major(kt), v, mask, scores)
        p = matmul(q, kt)
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

    def _on_team(self, q: Array, k: Array, v: Array) -> Array:
        """P and y = P v wholly compiled on MKL's threads, q, k and v read where they lie."""
        batch = _batch(q, k, v)
        (L, E), (S, Ev) = q.shape[-2:], v.shape[-2:]
        (q, qs), (k, ks), (v, vs) = (_stacked(a, batch) for a in (q, k, v))
        self.dense = (q, k, v)
        self.blocks = (_causal_blocks(L, S) if self.is_causal else None) or [(0, L, S)]
        p = xp.empty(batch + (L, S), q.dtype)
        y = _heads_inner(batch, L, Ev, q.dtype)
        kernels.attention.forward(
            qs, ks, vs, kernels.attention.stack(y, batch), p.reshape(-1, L, S),
            (L, S, E, Ev), self.blocks, self.scale, self.is_causal,
            _team_threads(p, 2 * p.size * (E + Ev)))
        self.probs = p
        return y

    def _on_team_backward(self, g: Array) -> tuple[Array | None, ...]:
        """The gradients wholly compiled on MKL's threads (see ``_on_team``)."""
        (q, k, v), p, need = self.dense, self.probs, self.needs_input_grad
        batch, (L, S), E, Ev = p.shape[:-2], p.shape[-2:], q.shape[-1], v.shape[-1]
        g, gs = _stacked(g.astype(p.dtype, copy=False), batch)
        grads = tuple(_heads_inner(batch, *a.shape[-2:], p.dtype) if n else None
                      for a, n in zip((q, k, v), need))
        ds = xp.empty(p.shape, p.dtype)
        flops = 2 * p.size * (E * (1 + need[0] + need[1]) + Ev * (1 + need[2]))
        stack = kernels.attention.stack
        kernels.attention.backward(
            stack(q, batch), stack(k, batch), stack(v, batch), gs,
            tuple(stack(a, batch) for a in grads), p.reshape(-1, L, S), ds.reshape(-1, L, S),
            (L, S, E, Ev), self.blocks, self.scale, 1.0, self.is_causal,
            _team_threads(p, flops))
        return grads

    def _attend(self, q: Array, kt: Array, v: Array, mask: Array | None,
                scores: tuple[int, ...]) -> Array:
        """P and y = P v through the kernels, each piece of the batch whole on one thread."""
        blocks, scale, causal = self.blocks, self.scale, self.is_causal
        p = xp.empty(scores, q.dtype)
        y = xp.empty(scores[:-1] + v.shape[-1:], q.dtype)
        extra = () if mask is None else (mask.reshape((1,) * (2 - mask.ndim) + mask.shape),)

        def piece(p: Array, y: Array, q: Array, kt: Array, v: Array, *mask: Array) -> None:
            _seen(q, kt, blocks, p, rest=False)
            if mask:
                p *= scale
                p += mask[0]
            kernels.softmax.softmax_(p, 1.0 if mask else scale, causal)
            _over_seen(p, v, blocks, y)

        _by_batch(piece, 2 * p.size * (q.shape[-1] + v.shape[-1]), p, y, q, kt, v, *extra)
        self.probs = p
        return y

    def backward_arrays(self, g: Array) -> tuple[Array | None, ...]:
        if self.on_team:
            return self._on_team_backward(g)
        if self.jit and g.dtype == self.probs.dtype:
            return self._attend_backward(compact(g))
        q, kt, v = self.dense
        p = self.probs
        need = self.needs_input_grad
        g = compact(g)
        gv = matmul(p.swapaxes(-1, -2), g) if need[2] else None
        ds = matmul(g, v.swapaxes(-1, -2))
        ds -= xp.einsum("...ij,...ij->...i", ds, p)[..., None]
        ds *= p
        gq = gk = None
        if need[0]:
            gq = matmul(ds, kt.swapaxes(-1, -2))
            gq *= self.scale
        if need[1]:
            gk = matmul(ds.swapaxes(-1, -2), q)
            gk *= self.scale
        grads = (gq, gk, gv)
        return grads + (ds,) if len(self.inputs) == 4 else grads

    def _attend_backward(self, g: Array) -> tuple[Array | None, ...]:
        """The gradients through the kernels, each piece of the batch whole on one thread;
        by blocks, a query block's products run over the keys it sees, a key block's over the
        queries that see it."""
        q, kt, v = self.dense
        p, blocks, need = self.probs, self.blocks, self.needs_input_grad
        batch = p.shape[:-2]
        ds = xp.empty(p.shape, p.dtype)
        grads = [xp.empty(batch + a.shape[-2:], p.dtype) if n else None
                 for a, n in zip((q, kt.swapaxes(-1, -2), v), need)]
        # without a mask gradient the scale folds into ds; ds is the mask's gradient otherwise
        fold = self.scale if len(self.inputs) == 3 else 1.0
        after = self.scale / fold

        def piece(ds: Array, p: Array, g: Array, q: Array, k: Array, vt: Array,
                  *grads: Array) -> None:
            gq, gk, gv = _placed(grads, need[:3])
            _seen(g, vt, blocks, ds)  # 0 past the keys seen (P is 0 there)
            kernels.softmax.softmax_backward_(p, ds, fold)
            if gq is not None:
                _over_seen(ds, k, blocks, gq)
                if after != 1.0:
                    gq *= after
            if gk is not None:
                _seen_by(ds, q, blocks, gk)
                if after != 1.0:
                    gk *= after
            if gv is not None:
                _seen_by(p, g, blocks, gv)

        flops = 2 * p.size * (q.shape[-1] * (1 + need[0] + need[1]) + v.shape[-1] * (1 + need[2]))
        k, vt = row_major(kt.swapaxes(-1, -2)), row_major(v.swapaxes(-1, -2))
        _by_batch(piece, flops, ds, p, g, q, k, vt, *(a for a in grads if a is not None))
        return (*grads, ds) if len(self.inputs) == 4 else tuple(grads)

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


PIECE_FLOPS = 1 << 26
"""Floating-point operations of products a piece of the batch holds at least (about 0.8 ms on
one core): small products scale poorly over threads (a stack of 64×32 by 32×64 products ran
1.4×, not 2×, faster on two), and handing a piece to another thread costs 0.1-0.2 ms (the
transformer's step ran 4 % faster with its backward on one thread than split at 2²⁵)."""

Blocks = list[tuple[int, int, int]] | None
"""Causal attention's query blocks ``(start, end, keys seen)``, or None for all keys."""


def _batch(*arrays: Array) -> tuple[int, ...]:
    """The broadcast batch shape of matrices (the axes before the last two)."""
    return xp.broadcast_shapes(*(a.shape[:-2] for a in arrays))


def _by_batch(body: Callable[..., None], flops: int, *arrays: Array) -> None:
    """``body(*pieces)`` for pieces of the batch (along the first batch axis of ``arrays[0]``
    longer than 1; the other arrays broadcast to its batch shape), one per thread
    (``threads.split``), where each piece's products hold at least ``PIECE_FLOPS`` of the
    ``flops``."""
    batch = arrays[0].shape[:-2]
    axis = next((i for i, n in enumerate(batch) if n > 1), None)
    if axis is None:
        body(*arrays)
        return
    arrays = tuple(a if a.shape[:-2] == batch else xp.broadcast_to(a, batch + a.shape[-2:])
                   for a in arrays)
    n = batch[axis]
    grain = -(-PIECE_FLOPS * n // max(flops, 1))
    lead = (slice(None),) * axis
    threads.split(lambda lo, hi: body(*(a[(*lead, slice(lo, hi))] for a in arrays)), n, grain)


TEAM_PIECE_FLOPS = 1 << 22
"""Floating-point operations of products a thread of MKL's team (``mkl.Team``) takes at least
(about 60 µs on one core; a fork to a spinning thread costs 2-7 µs, to a sleeping one about
35)."""


def _fits_team(q: Array, k: Array, v: Array, mask: Array | None) -> bool:
    """Whether attention runs wholly compiled on MKL's threads (``kernels.attention``): MKL
    runs on OpenMP, the kernels run on q, k and v, none is empty, and there is no mask."""
    return mkl.team() is not None and mask is None and 0 not in (q.size, k.size, v.size) \
        and kernels.fits(q, k, v)


def _stacked(a: Array, batch: tuple[int, ...]) -> tuple[Array, kernels.attention.Stack]:
    """``a`` and its matrices as a ``kernels.attention.Stack`` over ``batch``: a contiguous
    copy where its rows are not contiguous."""
    stack = kernels.attention.stack(a, batch)
    if stack is None:
        a = xp.ascontiguousarray(a)
        stack = kernels.attention.stack(a, batch)
    return a, stack


def _heads_inner(batch: tuple[int, ...], rows: int, cols: int, dtype: xp.dtype) -> Array:
    """An empty (*batch, rows, cols) array; for a (batch, heads) batch laid out as (batch,
    rows, heads, cols), as PyTorch lays out attention's output, so that merging the heads back
    (``y.transpose(1, 2).reshape(B, L, heads·cols)``) copies nothing."""
    if len(batch) != 2:
        return xp.empty(batch + (rows, cols), dtype)
    return xp.empty((batch[0], rows, batch[1], cols), dtype).transpose(0, 2, 1, 3)


def _team_threads(p: Array, flops: int) -> int:
    """Threads for attention whose scores are ``p``, each with ``TEAM_PIECE_FLOPS``."""
    return max(1, min(threads.get_num_threads(), math.prod(p.shape[:-2]),
                      flops // TEAM_PIECE_FLOPS))


def _placed(present: tuple[Array, ...], need: tuple[bool, ...]) -> list[Array | None]:
    """The arrays of ``present`` at the places ``need`` marks, None at the others."""
    it = iter(present)
    return [next(it) if n else None for n in need]


def _seen(x: Array, yt: Array, blocks: Blocks, out: Array, rest: bool = True) -> None:
    """out ← x yᵀ (..., L, S); by ``blocks``, each query block's over the keys it sees, 0
    past them, or left unwritten without ``rest`` (the softmax writes its own values there)."""
    if blocks is None:
        matmul(x, yt, out=out)
        return
    for a, b, kb in blocks:
        matmul(x[..., a:b, :], yt[..., :kb], out=out[..., a:b, :kb])
        if rest:
            out[..., a:b, kb:] = 0


def _over_seen(s: Array, y: Array, blocks: Blocks, out: Array) -> None:
    """out ← s y (..., L, ·) for scores s (..., L, S); by ``blocks``, s is 0 past each query
    block's keys."""
    if blocks is None:
        matmul(s, y, out=out)
        return
    for a, b, kb in blocks:
        matmul(s[..., a:b, :kb], y[..., :kb, :], out=out[..., a:b, :])


def _seen_by(s: Array, y: Array, blocks: Blocks, out: Array) -> None:
    """out ← sᵀ y (..., S, ·) for scores s (..., L, S); by ``blocks`` (causal attention),
    keys c..d of a block are seen by queries c.. only, and keys no query sees get 0."""
    if blocks is None:
        matmul(s.swapaxes(-1, -2), y, out=out)
        return
    L, S = s.shape[-2:]
    for c, d, _ in blocks:
        if c < S:
            d = min(d, S)
            matmul(s[..., c:, c:d].swapaxes(-1, -2), y[..., c:, :], out=out[..., c:d, :])
    out[..., min(L, S):, :] = 0


def _causal_blocks(L: int, S: int) -> Blocks:
    """Query blocks ``(start, end, keys seen)`` for causal attention of L queries over S keys
    (at least one), top-left aligned (query i sees keys j ≤ i): four blocks of at least 32
    queries; None for fewer than 64 queries."""
    if L < 64:
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
