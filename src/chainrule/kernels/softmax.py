"""Softmax over the last axis of attention scores, optionally causal (query i sees keys
j ≤ i), in place, and its backward.

The scores are a C-contiguous (batch, L, S) array. The exponential is NumPy's, in one pass
between the kernel's two (see ``approx``: exp inside a kernel is an unvectorised C call).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels.approx import compiled, kernel, reduction


@compiled(fastmath={"nnan", "reassoc"})
def _max(row: Any, lim: int, m: Any) -> Any:
    # NOTE: "nnan" lets the max vectorise; a NaN in the row may then be missed here, but it
    # reaches the row's sum after the exp, so the row still comes out NaN.
    for j in range(lim):
        v = row[j]
        m = v if v > m else m
    return m


@kernel
def _shift(p: Any, c: Any, causal: bool) -> None:
    # p·scale − rowmax over the visible keys; −inf over the hidden ones
    scale, ninf = c[0], c[1]
    batch, L, S = p.shape
    for b in range(batch):
        for i in range(L):
            row = p[b, i]
            lim = min(i + 1, S) if causal else S
            m = _max(row, lim, ninf) * scale
            for j in range(lim):
                row[j] = row[j] * scale - m
            for j in range(lim, S):
                row[j] = ninf


@reduction
def _normalize(p: Any, c: Any, causal: bool) -> None:
    one = c[2]
    batch, L, S = p.shape
    for b in range(batch):
        for i in range(L):
            row = p[b, i]
            lim = min(i + 1, S) if causal else S
            s = row[0] * 0
            for j in range(lim):
                s += row[j]
            r = one / s
            for j in range(lim):
                row[j] *= r


@reduction
def _backward(p: Any, ds: Any, c: Any) -> None:
    # ds holds G vᵀ and receives P ⊙ (ds − rowsum(P ⊙ ds)), times c[0]. Whole rows: where a
    # causal mask hid a key P is 0, and uneven row lengths cost more than they save.
    scale = c[0]
    rows, S = p.shape
    for i in range(rows):
        pr, dr = p[i], ds[i]
        s = pr[0] * 0
        for j in range(S):
            s += pr[j] * dr[j]
        for j in range(S):
            dr[j] = pr[j] * (dr[j] - s) * scale


def softmax_(scores: np.ndarray, scale: float, causal: bool) -> None:
    """scores ← softmax(scores·scale) over the last axis, in place (C-contiguous, ≥ 2-D),
    with keys after each query hidden when ``causal``."""
    p = scores.reshape(-1, *scores.shape[-2:])
    c = np.array((scale, -np.inf, 1.0), p.dtype)
    _shift(p, c, causal)
    np.exp(p, out=p)
    _normalize(p, c, causal)


def softmax_backward_(probs: np.ndarray, ds: np.ndarray, scale: float) -> None:
    """ds ← probs ⊙ (ds − rowsum(probs ⊙ ds))·scale in place: the gradient of the scores
    (before ``scale``) from the gradient ds of the probabilities (both C-contiguous)."""
    p = probs.reshape(-1, probs.shape[-1])
    _backward(p, ds.reshape(p.shape), np.array((scale,), p.dtype))
