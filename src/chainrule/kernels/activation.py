"""ReLU's and GELU's (exact erf form and tanh approximation) forward and backward as single
passes.

NOTE: ReLU is here because NumPy's ``maximum`` of floats is several times slower than other
ufuncs (it orders NaNs; 13 us for 128×256 float32 where ``x + x`` takes 3 us), and its
backward ``g * (x > 0)`` is two passes.

The arrays are flat and C-contiguous; ``exact`` is ``approx.exact`` of their dtype and ``c``
the constants below in their dtype. ReLU's and GELU's passes run over shares of the elements
on MKL's threads (``kernels.team``) where MKL does; GELU's on ``threads.split``'s otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from chainrule import threads
from chainrule.kernels import approx, team
from chainrule.kernels.approx import kernel

_CONSTANTS = (0.5, 1.0, 1 / math.sqrt(2), 1 / math.sqrt(2 * math.pi), math.sqrt(2 / math.pi),
              0.044715, 3 * 0.044715)


@kernel
def _relu_forward(x: Any, y: Any) -> None:
    zero = x.dtype.type(0)
    for i in range(x.size):
        v = x[i]
        y[i] = v if v > zero or v != v else zero  # (NaN stays NaN, as in max(x, 0))


@kernel
def _relu_backward(x: Any, g: Any, out: Any) -> None:
    zero, one = x.dtype.type(0), x.dtype.type(1)
    for i in range(x.size):
        out[i] = g[i] * (one if x[i] > zero else zero)  # (as g·[x > 0]: inf·0 is NaN)


@kernel
def _relu_elements(a: Any, lo: int, hi: int, dtype: Any) -> None:
    n = a[4]
    x, second = team.array_at(a[1], n, dtype)[lo:hi], team.array_at(a[2], n, dtype)[lo:hi]
    if a[5]:
        _relu_backward(x, second, team.array_at(a[3], n, dtype)[lo:hi])
    else:
        _relu_forward(x, second)


@numba.cfunc(team.SHARE, **team.options(_relu_forward.py_func))
def _relu_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 5)  # x, y (forward) or g (backward), out, n, backward
    if a[0] == 4:
        _relu_elements(a, lo, hi, np.float32)
    else:
        _relu_elements(a, lo, hi, np.float64)


def _relu_on_team(x: np.ndarray, second: np.ndarray, out: np.ndarray | None) -> bool:
    """ReLU's forward (``out`` None) or backward over shares of the flat arrays on MKL's
    threads; False, with nothing run, where the team would run it on one thread."""
    count = team.team_threads(x.size)
    if count < 2:
        return False
    team.run(_relu_share, x.size, x.itemsize,
             [x.ctypes.data, second.ctypes.data, 0 if out is None else out.ctypes.data, x.size,
              out is not None], count)
    return True


@kernel
def _erf_forward(x: Any, y: Any, c: Any, exact: bool) -> None:
    half, one, rsqrt2 = c[0], c[1], c[2]
    for i in range(x.size):
        v = x[i]
        y[i] = v * half * (one + approx.erf(v * rsqrt2, exact))


@kernel
def _erf_backward(x: Any, g: Any, out: Any, c: Any, exact: bool) -> None:
    # g·(Φ(x) + x·φ(x))
    half, one, rsqrt2, rsqrt2pi = c[0], c[1], c[2], c[3]
    for i in range(x.size):
        v = x[i]
        cdf = half * (one + approx.erf(v * rsqrt2, exact))
        out[i] = g[i] * (cdf + v * approx.exp(-half * v * v, exact) * rsqrt2pi)


@kernel
def _tanh_forward(x: Any, y: Any, c: Any, exact: bool) -> None:
    half, one, s2pi, k = c[0], c[1], c[4], c[5]
    for i in range(x.size):
        v = x[i]
        y[i] = v * half * (one + approx.tanh(s2pi * (v + k * v * v * v), exact))


@kernel
def _tanh_backward(x: Any, g: Any, out: Any, c: Any, exact: bool) -> None:
    half, one, s2pi, k, k3 = c[0], c[1], c[4], c[5], c[6]
    for i in range(x.size):
        v = x[i]
        t = approx.tanh(s2pi * (v + k * v * v * v), exact)
        out[i] = g[i] * (half * (one + t) + half * v * (one - t * t) * s2pi * (one + k3 * v * v))


@kernel
def _gelu_elements(a: Any, lo: int, hi: int, dtype: Any) -> None:
    n, exact = a[4], a[0] == 8
    x, y = team.array_at(a[1], n, dtype)[lo:hi], team.array_at(a[2], n, dtype)[lo:hi]
    c = team.array_at(a[3], len(_CONSTANTS), dtype)
    if a[5]:
        _tanh_forward(x, y, c, exact)
    else:
        _erf_forward(x, y, c, exact)


@numba.cfunc(team.SHARE, **team.options(_erf_forward.py_func))
def _gelu_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 5)  # x, y, constants, n, tanh
    if a[0] == 4:
        _gelu_elements(a, lo, hi, np.float32)
    else:
        _gelu_elements(a, lo, hi, np.float64)


@kernel
def _gelu_backward_elements(a: Any, lo: int, hi: int, dtype: Any) -> None:
    n, exact = a[5], a[0] == 8
    x, g = team.array_at(a[1], n, dtype)[lo:hi], team.array_at(a[2], n, dtype)[lo:hi]
    out = team.array_at(a[3], n, dtype)[lo:hi]
    c = team.array_at(a[4], len(_CONSTANTS), dtype)
    if a[6]:
        _tanh_backward(x, g, out, c, exact)
    else:
        _erf_backward(x, g, out, c, exact)


@numba.cfunc(team.SHARE, **team.options(_erf_backward.py_func))
def _gelu_backward_share(data: Any, lo: int, hi: int, t: int) -> None:
    a = team.arguments(data, 6)  # x, g, out, constants, n, tanh
    if a[0] == 4:
        _gelu_backward_elements(a, lo, hi, np.float32)
    else:
        _gelu_backward_elements(a, lo, hi, np.float64)


PIECE = 1 << 18
"""Elements a thread takes at least of GELU's passes (about 0.15 ms of work)."""


def _contiguous(a: np.ndarray) -> np.ndarray:
    """a, or a C-contiguous copy (``ascontiguousarray`` would make a 0-d array 1-d)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


def storage_views(*arrays: np.ndarray) -> list[np.ndarray] | None:
    """Flat views of ``arrays`` in memory order, when they are all one dense block laid out
    alike (C order, or any axis order such as a convolution's output); otherwise None."""
    a = arrays[0]
    if any(b.shape != a.shape or b.strides != a.strides for b in arrays[1:]):
        return None
    order = sorted(range(a.ndim), key=lambda d: -a.strides[d])
    views = [b.transpose(order) for b in arrays]
    if not views[0].flags.c_contiguous:
        return None
    return [v.reshape(-1) for v in views]


def relu(x: np.ndarray) -> np.ndarray | None:
    """max(x, 0) of a float32/float64 array in x's own layout, or None when x is not one
    dense block (a copy would cost more than NumPy's pass over the strided array)."""
    y = np.empty_like(x)
    flat = storage_views(x, y)
    if flat is None:
        return None
    if not _relu_on_team(flat[0], flat[1], None):
        _relu_forward(*flat)
    return y


def relu_backward(x: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """g·[x > 0] for x and g of one shape and dtype, or None unless both are one dense block
    laid out alike."""
    out = np.empty_like(x)
    flat = storage_views(x, g, out)
    if flat is None:
        return None
    if not _relu_on_team(*flat):
        _relu_backward(*flat)
    return out


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    """x·Φ(x), or its tanh approximation, of a float32/float64 array."""
    x = _contiguous(x)
    y = np.empty_like(x)
    fwd = _tanh_forward if approximate == "tanh" else _erf_forward
    xf, yf = x.reshape(-1), y.reshape(-1)
    c, exact = approx.constants(x.dtype, *_CONSTANTS), approx.exact(x)
    count = team.team_threads(x.size)
    if count > 1:
        team.run(_gelu_share, x.size, x.itemsize,
                 [x.ctypes.data, y.ctypes.data, c.ctypes.data, x.size, fwd is _tanh_forward],
                 count)
        return y
    threads.split(lambda lo, hi: fwd(xf[lo:hi], yf[lo:hi], c, exact), xf.size, PIECE)
    return y


def gelu_backward(x: np.ndarray, g: np.ndarray, approximate: str) -> np.ndarray:
    """g·GELU′(x) for x and g of one shape and dtype."""
    x, g = _contiguous(x), _contiguous(g)
    out = np.empty_like(x)
    xf, gf, of = x.reshape(-1), g.reshape(-1), out.reshape(-1)
    bwd = _tanh_backward if approximate == "tanh" else _erf_backward
    c, exact = approx.constants(x.dtype, *_CONSTANTS), approx.exact(x)
    count = team.team_threads(x.size)
    if count > 1:
        team.run(_gelu_backward_share, x.size, x.itemsize,
                 [x.ctypes.data, g.ctypes.data, out.ctypes.data, c.ctypes.data, x.size,
                  bwd is _tanh_backward], count)
        return out
    threads.split(lambda lo, hi: bwd(xf[lo:hi], gf[lo:hi], of[lo:hi], c, exact), xf.size, PIECE)
    return out
