"""erf against Python's math.erf (an independent reference): double precision in float64,
a few ulps in float32; infinities and NaN as in PyTorch."""

from __future__ import annotations

import math

import numpy as np

import chainrule as cr

_GRID = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 7, 2000),
                        -np.geomspace(1e-300, 7, 2000)])
_REF = np.array([math.erf(v) for v in _GRID])


def test_erf_float64_is_exact_to_double_precision() -> None:
    got = cr.erf(cr.tensor(_GRID)).numpy()
    rel = np.abs(got - _REF) / np.maximum(np.abs(_REF), 1e-300)
    assert rel.max() < 1e-15


def test_erf_float32_is_within_a_few_ulps() -> None:
    x = _GRID.astype(np.float32)
    got = cr.erf(cr.tensor(x)).numpy()
    assert got.dtype == np.float32
    ref = np.array([math.erf(float(v)) for v in x])
    assert np.abs(got - ref).max() < 6e-7


def test_erf_special_values() -> None:
    got = cr.erf(cr.tensor([float("inf"), -float("inf"), float("nan"), 0.0],
                           dtype=cr.float64)).tolist()
    assert got[:2] == [1.0, -1.0] and math.isnan(got[2]) and got[3] == 0.0
