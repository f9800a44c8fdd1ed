"""``assert_ulp_close``: floats from two libraries (or two routes) equal to a stated number of
units in the last place.

Two libraries' float kernels agree to a few ulps, not bits, and which bits differ depends on the
CPU (SIMD widths, fused multiply-add, summation order), so an exact comparison that passes on one
machine can fail on another. A tolerance in ulps states how far apart the results may be in the
precision they were computed in, whatever their magnitude.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _finfo(dtype: np.dtype) -> Any:
    try:
        return np.finfo(dtype)
    except ValueError:  # bfloat16 and the other ml_dtypes formats
        import ml_dtypes

        return ml_dtypes.finfo(dtype)


def assert_ulp_close(actual: Any, expected: Any, ulps: int = 4, err_msg: str = "") -> None:
    """Assert ``|actual - expected| <= ulps`` units in the last place, elementwise.

    The unit is that of the less precise of the two float dtypes at the larger magnitude of
    each pair (``eps · 2^floor(log2 |x|)``, at least the smallest subnormal), so ``ulps=0``
    means bit-equal up to the sign of zero. NaN must meet NaN and an infinity the same
    infinity. Arrays of no float dtype (integers, bools) must be equal exactly.
    """
    a, b = np.asarray(actual), np.asarray(expected)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}. {err_msg}"
    floats = [x.dtype for x in (a, b) if x.dtype.kind in "fcV"]  # V: bfloat16 (ml_dtypes)
    if not floats:
        np.testing.assert_array_equal(a, b, err_msg=err_msg)
        return
    info = max((_finfo(d) for d in floats), key=lambda f: float(f.eps))
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        a, b = np.asarray(a, np.complex128), np.asarray(b, np.complex128)
        assert_ulp_close(a.real, b.real, ulps, err_msg)
        assert_ulp_close(a.imag, b.imag, ulps, err_msg)
        return
    x, y = a.astype(np.float64), b.astype(np.float64)
    nan_x, nan_y = np.isnan(x), np.isnan(y)
    assert np.array_equal(nan_x, nan_y), f"NaN in different places. {err_msg}"
    inf = np.isinf(x) | np.isinf(y)
    assert np.array_equal(x[inf], y[inf]), f"infinities differ. {err_msg}"
    finite = ~(nan_x | inf)
    x, y = x[finite], y[finite]
    magnitude = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.where(magnitude > 0, magnitude, 1.0)))
    unit = np.maximum(float(info.eps) * np.exp2(exponent), float(info.smallest_subnormal))
    off = np.abs(x - y) / unit
    if off.size and off.max() > ulps:
        i = int(np.argmax(off))
        raise AssertionError(
            f"{int((off > ulps).sum())} of {off.size} values differ by more than {ulps} ulps "
            f"({info.dtype}): worst {x[i]!r} vs {y[i]!r}, {off[i]:.1f} ulps apart. {err_msg}")
