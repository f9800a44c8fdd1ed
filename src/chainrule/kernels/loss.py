"""Cross entropy of rows of logits against rows of target probabilities, and its gradient,
one pass over each row (float32's exponential is ``approx.exp``, which vectorises).

NOTE: NumPy's reductions along a short last axis (a classifier's 10–1,000 classes) run a
strided loop per row: the max, exp, sum, log and the product with the target took 0.6 ms
on 2,048 rows of 65 logits, this kernel 0.2 ms, PyTorch's fused kernel 0.07 ms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.kernels import approx
from chainrule.kernels.approx import reduction


@reduction
def _forward(x: Any, q: Any, p: Any, loss: Any, c: Any, exact: bool) -> None:
    ninf, one, zero = c[0], c[1], c[2]
    rows, C = x.shape
    for i in range(rows):
        row, pr, qr = x[i], p[i], q[i]
        m = approx.row_max(row, C, ninf)
        s = zero
        for j in range(C):
            e = approx.exp(row[j] - m, exact)
            pr[j] = e
            s += e
        ls = math.log(s)
        r = one / s
        acc = zero
        for j in range(C):
            pr[j] = pr[j] * r
            v = qr[j] * ((row[j] - m) - ls)
            acc += zero if qr[j] == zero else v  # (a masked −inf logit with q = 0 adds 0)
        loss[i] = -acc


@reduction
def _backward(p: Any, q: Any, g: Any, gx: Any) -> None:
    rows, C = p.shape
    for i in range(rows):
        pr, qr, out = p[i], q[i], gx[i]
        s = qr[0] * 0
        for j in range(C):
            s += qr[j]
        gi = g[i]
        for j in range(C):
            out[j] = (pr[j] * s - qr[j]) * gi


def cross_entropy(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For logits ``x`` and target probabilities ``q`` (same shape, C-contiguous, classes on
    the last axis): the loss −Σ q·log_softmax(x) of each row, and softmax(x)."""
    rows = x.reshape(-1, x.shape[-1])
    q = q.reshape(rows.shape)
    p = np.empty_like(rows)
    loss = np.empty(rows.shape[0], x.dtype)
    _forward(rows, q, p, loss, approx.constants(x.dtype, -np.inf, 1.0, 0.0), approx.exact(x))
    return loss.reshape(x.shape[:-1]), p.reshape(x.shape)


def cross_entropy_backward(p: np.ndarray, q: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The logits' gradient (p·Σq − q)·g from softmax ``p`` and targets ``q`` (C-contiguous,
    classes on the last axis) and the gradient ``g`` of each row's loss (with a last axis of
    1, or a scalar for a reduced loss)."""
    rows = p.reshape(-1, p.shape[-1])
    gx = np.empty_like(rows)
    q = q.reshape(rows.shape)
    g = np.broadcast_to(np.asarray(g, p.dtype), p.shape[:-1] + (1,)).reshape(-1)
    _backward(rows, q, g, gx)
    return gx.reshape(p.shape)
