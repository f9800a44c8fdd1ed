"""The test helper ``assert_ulp_close`` allows what it says and no more."""

from __future__ import annotations

import numpy as np
import pytest

from ulp import assert_ulp_close


def test_counts_ulps_of_the_less_precise_dtype() -> None:
    x = np.float32(0.7853981853)
    one_up = np.nextafter(x, np.float32(1))
    assert_ulp_close(x, one_up, ulps=1)
    with pytest.raises(AssertionError, match="1.0 ulps apart"):
        assert_ulp_close(x, one_up, ulps=0)
    assert_ulp_close(np.float64(1) + 2**-52, 1.0, ulps=1)
    with pytest.raises(AssertionError):
        assert_ulp_close(np.float64(1) + 2**-51, 1.0, ulps=1)
    assert_ulp_close(np.float32(1) + np.float32(2**-23), 1.0, ulps=1)  # float32's ulp, not f64's


def test_bfloat16_ulps() -> None:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    b = np.array([1.0, 3.0], ml_dtypes.bfloat16)
    assert_ulp_close(b, np.array([1.0078125, 3.0], np.float32), ulps=1)
    with pytest.raises(AssertionError):
        assert_ulp_close(b, np.array([1.0078125, 3.0], np.float32), ulps=0)


def test_special_values_and_integers_must_match() -> None:
    assert_ulp_close([0.0, -0.0, np.nan, np.inf], [-0.0, 0.0, np.nan, np.inf], ulps=0)
    for a, b in (([np.inf], [-np.inf]), ([np.nan], [1.0]), ([1, 2], [1, 3])):
        with pytest.raises(AssertionError):
            assert_ulp_close(a, b, ulps=4)
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_ulp_close([1.0], [1.0, 1.0])
