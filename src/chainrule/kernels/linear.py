"""A linear layer's bias added to each row of its output, in place, and its bias's gradient
(the column sums of the output's gradient), each over shares of the rows on MKL's threads
(``kernels.team``) where MKL runs.

NOTE: NumPy's broadcast ``out += b`` took 67 µs on 1,024 rows of 384 float32 (100 µs right
after the product that made them), against 31 µs for this loop: a fifth of the product's own
time at a transformer's sizes. NumPy's ``g.sum(0)`` runs on one thread: 196 µs for 2,048 rows
of 512 float32.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from chainrule.kernels import team
from chainrule.kernels.approx import kernel, reduction


@kernel
def _add_bias(out: Any, b: Any) -> None:
    rows, n = out.shape
    for i in range(rows):
        row = out[i]
        for j in range(n):
            row[j] += b[j]


@kernel
def _add_bias_rows(a: Any, lo: int, hi: int, dtype: Any) -> None:
    rows, n = a[3], a[4]
    _add_bias(team.array_at(a[1], (rows, n), dtype)[lo:hi], team.array_at(a[2], n, dtype))


@numba.cfunc(team.SHARE, **team.options(_add_bias.py_func))
def _add_bias_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 4)  # out, b, rows, n
    if a[0] == 4:
        _add_bias_rows(a, lo, hi, np.float32)
    else:
        _add_bias_rows(a, lo, hi, np.float64)


def add_bias(out: np.ndarray, b: np.ndarray) -> None:
    """out[..., j] += b[j] in place (C-contiguous ``out``, ``b`` of its last dim), over shares
    of the rows on MKL's threads where the team runs it on more than one."""
    out2 = out.reshape(-1, out.shape[-1])
    count = team.team_threads(out.size)
    if count > 1:
        team.run(_add_bias_share, out2.shape[0], out.itemsize,
                 [out2.ctypes.data, b.ctypes.data, *out2.shape], count)
    else:
        _add_bias(out2, b)


@reduction
def _column_sums(g: Any, out: Any) -> None:
    rows, n = g.shape
    for i in range(rows):
        row = g[i]
        for j in range(n):
            out[j] += row[j]


@kernel
def _column_sums_rows(a: Any, lo: int, hi: int, t: int, dtype: Any) -> None:
    rows, n = a[3], a[4]
    _column_sums(team.array_at(a[1], (rows, n), dtype)[lo:hi],
                 team.array_at(a[2] + t * a[5] * a[0], n, dtype))


@numba.cfunc(team.SHARE, **team.options(_column_sums.py_func))
def _column_sums_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 5)  # g, partial sums (a row per thread), rows, n, their stride
    if a[0] == 4:
        _column_sums_rows(a, lo, hi, t, np.float32)
    else:
        _column_sums_rows(a, lo, hi, t, np.float64)


def column_sums(g: np.ndarray) -> np.ndarray | None:
    """g.sum(0) of a C-contiguous (rows, n) array, each thread of MKL's team summing a share of
    the rows; None where the team would run it on one thread (NumPy's sum is as fast there)."""
    count = team.team_threads(g.size)
    if count < 2:
        return None
    partial, stride = team.partial_rows(count, g.shape[1], g.dtype)
    team.run(_column_sums_share, g.shape[0], g.itemsize,
             [g.ctypes.data, partial.ctypes.data, *g.shape, stride], count)
    return partial.sum(0)
