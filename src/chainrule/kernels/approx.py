"""The compile options every kernel uses, float32 approximations of erf and tanh that
compile to vector instructions inside a kernel's loop, and a row maximum that vectorises.

NOTE: inside a Numba loop, ``math.erf`` and ``math.tanh`` are calls into the C library, one
element at a time (erf ≈ 8 ns, tanh ≈ 17 ns an element here: slower than NumPy's vectorised
ufuncs), and a loop that calls them is not vectorised. The rational forms below are only
multiplications, additions and one division, which LLVM vectorises; they are accurate to a
few float32 ulps, so float32 kernels use them and float64 kernels call ``math`` (``exact``).
``error_model='numpy'`` drops Python's division-by-zero check, which would stop
vectorisation. This module imports Numba: kernel modules are imported only when kernels run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from chainrule.kernels import cacheable

_f = np.float32


def _wide_vectors() -> None:
    """Let LLVM vectorise the kernels' loops 512 bits wide on CPUs with AVX-512, unless the
    user chose Numba's target (``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES``).

    NOTE: LLVM prefers 256-bit vectors on Intel's AVX-512 CPUs (the "prefer-256-bit" tuning,
    from older chips that slowed their clock for 512-bit work). GELU's kernels ran 1.2-1.4x
    faster without it on a Sapphire Rapids core. Numba reads the setting when it first
    compiles, so it holds where chainrule's kernels are the first Numba code to run.
    """
    try:
        from numba.core.codegen import get_host_cpu_features
    except ImportError:  # (Numba's own helper, not public API: without it the width stays)
        return
    if numba.config.CPU_NAME is None and numba.config.CPU_FEATURES is None:
        features = get_host_cpu_features()
        if "+avx512f" in features.split(","):
            numba.config.CPU_FEATURES = features + ",-prefer-256-bit"


_wide_vectors()


def compiled(**options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``numba.njit(**options)``, releasing the GIL (``threads.split`` runs kernels on
    several threads), cached on disk where it can be."""
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        return numba.njit(cache=cacheable(fn), nogil=True, **options)(fn)
    return decorate


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile ``fn`` (cached on disk where it can be) with NumPy's error model."""
    return compiled(error_model="numpy")(fn)


def _inline(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``kernel``, inlined into its callers by Numba (LLVM's own inlining gives up on a loop
    that calls the function several times, and the loop is then not vectorised)."""
    return compiled(error_model="numpy", inline="always")(fn)


def reduction(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``kernel`` that may also reassociate sums, so that reductions vectorise."""
    return compiled(error_model="numpy", fastmath={"reassoc", "contract"})(fn)


# erf(x) ≈ x·P(x²)/Q(x²) on [−4, 4] (±1 beyond, in float32): the minimax rational form of
# Eigen's float erf; maximum absolute error 7e-8 in exact arithmetic.
_EA = tuple(_f(c) for c in (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
                             -5.69250639462346e-05, -7.34990630326855e-04,
                             -2.95459980854025e-03, -1.60960333262415e-02))
_EB = tuple(_f(c) for c in (-1.45660718464996e-05, -2.13374055278905e-04,
                             -1.68282697438203e-03, -7.37332916720468e-03,
                             -1.42647390514189e-02))
# tanh(x) ≈ x·P(x²)/Q(x²) on [−9, 9] (±1 beyond): Eigen's float tanh; error 3e-8.
_TA = tuple(_f(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                             5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                             4.89352455891786e-03))
_TB = tuple(_f(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                             4.89352518554385e-03))
_E0, _E1, _E2, _E3, _E4, _E5, _E6 = _EA
_F0, _F1, _F2, _F3, _F4 = _EB
_T0, _T1, _T2, _T3, _T4, _T5, _T6 = _TA
_U0, _U1, _U2, _U3 = _TB
_ONE, _FOUR, _NINE = _f(1.0), _f(4.0), _f(9.0)
# exp(x) = 2ⁿ·exp(r), n = round(x·log₂e), r = x − n·ln 2 (ln 2 in two parts, so r is exact)
# and exp(r) ≈ 1 + r + r²·P(r) on [−ln2/2, ln2/2]: Cephes' expf, error ≤ 1 float32 ulp below
# x = 88.6 and 2 above (where n is held at 127).
_XA = tuple(_f(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                             4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_X0, _X1, _X2, _X3, _X4, _X5 = _XA
_LOG2E, _LN2_HI, _LN2_LO = _f(1.44269504088896341), _f(0.693359375), _f(-2.12194440e-4)
_HALF, _ZERO, _INF = _f(0.5), _f(0.0), _f(np.inf)
_EXP_LO, _EXP_HI = _f(-87.33), _f(88.72)  # (2ⁿ stays a normal float in between)


@_inline
def _unit(y: Any) -> Any:
    """y clamped to [−1, 1] (the rational forms overshoot by an ulp near ±1)."""
    y = _ONE if y > _ONE else y
    return -_ONE if y < -_ONE else y


@_inline
def erf(x: Any, exact: bool) -> Any:
    """erf(x): ``math.erf`` when ``exact``, else the float32 rational form."""
    if exact:
        return math.erf(x)
    x = _FOUR if x > _FOUR else x
    x = -_FOUR if x < -_FOUR else x
    z = x * x
    p = ((((((_E0 * z + _E1) * z + _E2) * z + _E3) * z + _E4) * z + _E5) * z + _E6) * x
    return _unit(p / ((((_F0 * z + _F1) * z + _F2) * z + _F3) * z + _F4))


@_inline
def tanh(x: Any, exact: bool) -> Any:
    """tanh(x): ``math.tanh`` when ``exact``, else the float32 rational form."""
    if exact:
        return math.tanh(x)
    x = _NINE if x > _NINE else x
    x = -_NINE if x < -_NINE else x
    z = x * x
    p = ((((((_T0 * z + _T1) * z + _T2) * z + _T3) * z + _T4) * z + _T5) * z + _T6) * x
    return _unit(p / (((_U0 * z + _U1) * z + _U2) * z + _U3))


@intrinsic
def _pow2(typingctx: Any, n: Any) -> Any:
    """2ⁿ for a float32 n that is a whole number in [−126, 127], built from its bits (no C
    call, so the loop around it vectorises)."""
    if n != types.float32:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        i32 = ir.IntType(32)
        bits = builder.shl(builder.add(builder.fptosi(args[0], i32), ir.Constant(i32, 127)),
                           ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@_inline
def exp(x: Any, exact: bool) -> Any:
    """exp(x): ``math.exp`` when ``exact``, else Cephes' float32 form (0 below −87.33, where
    exp(x) is a subnormal float32 or 0; NaN stays NaN)."""
    if exact:
        return math.exp(x)
    t = x * _LOG2E + _HALF
    t = t if t > _f(-126.0) else _f(-126.0)  # (also NaN: its own r keeps it NaN)
    t = t if t < _f(127.0) else _f(127.0)
    n = np.floor(t)
    r = x - n * _LN2_HI - n * _LN2_LO
    z = r * r
    p = ((((_X0 * r + _X1) * r + _X2) * r + _X3) * r + _X4) * r + _X5
    y = (p * z + r + _ONE) * _pow2(_f(n))  # (_f: typed for float64 too, never run)
    y = _ZERO if x < _EXP_LO else y
    return _INF if x > _EXP_HI else y


@kernel
def row_max(row: Any, lim: int, m: Any) -> Any:
    """The maximum of row[:lim] and m (softmax's and cross entropy's rows)."""
    # NOTE: eight running maxima, which LLVM turns into one vector: a single running maximum
    # (a select per element) is not vectorised, and was 3x slower over attention's rows. A NaN
    # may be missed here, but it reaches the row's sum after the exp, so the row comes out NaN.
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = m
    whole = lim - lim % 8
    for j in range(0, whole, 8):
        v = row[j]
        a0 = v if v > a0 else a0
        v = row[j + 1]
        a1 = v if v > a1 else a1
        v = row[j + 2]
        a2 = v if v > a2 else a2
        v = row[j + 3]
        a3 = v if v > a3 else a3
        v = row[j + 4]
        a4 = v if v > a4 else a4
        v = row[j + 5]
        a5 = v if v > a5 else a5
        v = row[j + 6]
        a6 = v if v > a6 else a6
        v = row[j + 7]
        a7 = v if v > a7 else a7
    for j in range(whole, lim):
        v = row[j]
        a0 = v if v > a0 else a0
    for v in (a1, a2, a3, a4, a5, a6, a7):
        a0 = v if v > a0 else a0
    return a0


def exact(a: np.ndarray) -> bool:
    """Whether kernels on ``a`` call ``math`` (float64) rather than the float32 forms."""
    return a.dtype != np.float32


@functools.cache
def constants(dtype: np.dtype, *values: float) -> np.ndarray:
    """``values`` as an array of ``dtype``, for a kernel to read before its loop.

    NOTE: a Python float in a kernel is a float64 constant, which turns float32 arithmetic
    into float64 (half the vector width); a float32 global would round float64 arithmetic.
    A kernel takes its constants in its arrays' dtype from here instead."""
    return np.array(values, dtype)
