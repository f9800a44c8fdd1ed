"""Layer norm over the rows of a (rows, n) array: the forward keeps each row's mean and
1/σ (not the normalised input), and the backward recomputes x̂ from them, one pass each way.
Both run on MKL's threads (``kernels.team``) where MKL does, each thread over a share of the
rows (forward 86 against 153 µs for 2,048 rows of 128 on two threads); in the backward each
thread sums ∂/∂w and ∂/∂b into rows of its own.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from chainrule.kernels import team
from chainrule.kernels.approx import kernel, reduction


@reduction
def _forward(x: Any, w: Any, b: Any, c: Any, y: Any, mean: Any, rstd: Any) -> None:
    rows, n = x.shape
    inv_n, eps, one = c[0], c[1], c[2]
    for i in range(rows):
        row = x[i]
        s = row[0] * 0
        for j in range(n):
            s += row[j]
        mu = s * inv_n
        s = s * 0
        for j in range(n):
            d = row[j] - mu
            s += d * d
        r = one / np.sqrt(s * inv_n + eps)
        out = y[i]
        for j in range(n):
            out[j] = (row[j] - mu) * r * w[j] + b[j]
        mean[i], rstd[i] = mu, r


@reduction
def _backward(x: Any, g: Any, w: Any, mean: Any, rstd: Any, c: Any, gx: Any, gw: Any, gb: Any,
              need_x: bool) -> None:
    rows, n = x.shape
    inv_n = c[0]
    for i in range(rows):
        row, gr = x[i], g[i]
        mu, r = mean[i], rstd[i]
        c1 = r * 0
        c2 = r * 0
        for j in range(n):
            xhat = (row[j] - mu) * r
            gw[j] += gr[j] * xhat
            gb[j] += gr[j]
            gh = gr[j] * w[j]
            c1 += gh
            c2 += gh * xhat
        if need_x:
            c1 *= inv_n
            c2 *= inv_n
            out = gx[i]
            for j in range(n):
                out[j] = r * (gr[j] * w[j] - c1 - (row[j] - mu) * r * c2)


@kernel
def _forward_rows(a: Any, lo: int, hi: int, dtype: Any) -> None:
    rows, n = a[8], a[9]
    _forward(team.array_at(a[1], (rows, n), dtype)[lo:hi], team.array_at(a[2], n, dtype),
             team.array_at(a[3], n, dtype), team.array_at(a[4], 3, dtype),
             team.array_at(a[5], (rows, n), dtype)[lo:hi], team.array_at(a[6], rows, dtype)[lo:hi],
             team.array_at(a[7], rows, dtype)[lo:hi])


@numba.cfunc(team.SHARE, **team.options(_forward.py_func))
def _forward_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 9)  # x, w, b, constants, y, mean, rstd, rows, n
    if a[0] == 4:
        _forward_rows(a, lo, hi, np.float32)
    else:
        _forward_rows(a, lo, hi, np.float64)


@kernel
def _backward_rows(a: Any, lo: int, hi: int, t: int, dtype: Any) -> None:
    rows, n, stride = a[11], a[12], a[13] * a[0]
    share = slice(lo, hi)
    _backward(team.array_at(a[1], (rows, n), dtype)[share],
              team.array_at(a[2], (rows, n), dtype)[share], team.array_at(a[3], n, dtype),
              team.array_at(a[4], rows, dtype)[share], team.array_at(a[5], rows, dtype)[share],
              team.array_at(a[6], 3, dtype), team.array_at(a[7], (rows, n), dtype)[share],
              team.array_at(a[8] + t * stride, n, dtype),
              team.array_at(a[9] + t * stride, n, dtype), a[10] != 0)


@numba.cfunc(team.SHARE, **team.options(_backward.py_func))
def _backward_share(data: Any, lo: int, hi: int, t: int) -> None:
    # x, g, w, mean, rstd, constants, gx, gw and gb (a row per thread), need_x, rows, n, the
    # rows' stride
    a = team.arguments(data, 13)
    if a[0] == 4:
        _backward_rows(a, lo, hi, t, np.float32)
    else:
        _backward_rows(a, lo, hi, t, np.float64)


def _constants(x: np.ndarray, eps: float) -> np.ndarray:
    """1/n, eps and 1 in x's dtype (Python numbers in a kernel would be float64)."""
    return np.array((1 / x.shape[1], eps, 1.0), x.dtype)


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x − μ)/√(σ² + eps)·w + b over each row of x (rows, n); returns y, μ and 1/√(σ² + eps)
    per row."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    mean = np.empty(x.shape[0], x.dtype)
    rstd = np.empty_like(mean)
    c = _constants(x, eps)
    count = team.team_threads(x.size)
    if count > 1:
        team.run(_forward_share, x.shape[0], x.itemsize,
                 [a.ctypes.data for a in (x, w, b, c, y, mean, rstd)] + list(x.shape), count)
    else:
        _forward(x, w, b, c, y, mean, rstd)
    return y, mean, rstd


def layer_norm_backward(x: np.ndarray, g: np.ndarray, w: np.ndarray, mean: np.ndarray,
                        rstd: np.ndarray, need_x: bool
                        ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """∂/∂x (None unless ``need_x``), ∂/∂w and ∂/∂b of the layer norm for upstream g."""
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    c = _constants(x, 0.0)
    count = team.team_threads(x.size)
    if count > 1:  # each thread sums ∂/∂w and ∂/∂b over its rows into rows of its own
        gx = np.empty_like(x) if need_x else x
        gw, stride = team.partial_rows(count, w.size, w.dtype)
        gb, _ = team.partial_rows(count, w.size, w.dtype)
        team.run(_backward_share, x.shape[0], x.itemsize,
                 [a.ctypes.data for a in (x, g, w, mean, rstd, c, gx, gw, gb)]
                 + [need_x, *x.shape, stride], count)
        return (gx if need_x else None), gw.sum(0), gb.sum(0)
    gx = np.empty_like(x) if need_x else x[:0]
    gw = np.zeros_like(w)
    gb = np.zeros_like(w)
    _backward(x, g, w, mean, rstd, c, gx, gw, gb, need_x)
    return (gx if need_x else None), gw, gb
