"""Softmax over the last axis of attention scores, optionally causal (query i sees keys
j ≤ i), in place, and its backward.

The scores are a C-contiguous (batch, L, S) array; each row is read and written in one
kernel (float32's exponential is ``approx.exp``, which vectorises).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import approx
from chainrule.kernels.approx import reduction


@reduction
def _softmax(p: Any, c: Any, causal: bool, exact: bool) -> None:
    # each row: exp(p·scale − max) over the visible keys, over their sum; 0 over the hidden.
    # NOTE: the rows of a matrix are scaled by 1/sum in a second loop over the matrix: scaling
    # each row right after its exponentials ran 1.5x slower.
    scale, ninf, one, zero = c[0], c[1], c[2], c[3]
    batch, L, S = p.shape
    inv = np.empty(L, p.dtype)
    for b in range(batch):
        for i in range(L):
            row = p[b, i]
            lim = min(i + 1, S) if causal else S
            m = approx.row_max(row, lim, ninf) * scale
            s = zero
            for j in range(lim):
                e = approx.exp(row[j] * scale - m, exact)
                row[j] = e
                s += e
            inv[i] = one / s
        for i in range(L):
            lim = min(i + 1, S) if causal else S
            r = inv[i]
            for j in range(S):  # (one select, not a loop to lim and one past it: 16% faster)
                p[b, i, j] = p[b, i, j] * r if j < lim else zero


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
    _softmax(p, np.array((scale, -np.inf, 1.0, 0.0), p.dtype), causal, approx.exact(p))


def softmax_backward_(probs: np.ndarray, ds: np.ndarray, scale: float) -> None:
    """ds ← probs ⊙ (ds − rowsum(probs ⊙ ds))·scale in place: the gradient of the scores
    (before ``scale``) from the gradient ds of the probabilities (both C-contiguous)."""
    p = probs.reshape(-1, probs.shape[-1])
    _backward(p, ds.reshape(p.shape), np.array((scale,), p.dtype))
