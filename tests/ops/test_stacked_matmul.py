"""Stacks of matrix products (attention's per-head products) through the backend's matmul:
operands that are strided views give NumPy's values, whatever their layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chainrule.backend import matmul


def _heads(dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q, k, v as (batch, heads, T, d) views into one fused (batch, T, 3, heads, d) array."""
    qkv = np.random.default_rng(0).standard_normal((3, 7, 3, 2, 5)) * 3
    qkv = qkv.astype(dtype)
    return tuple(qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # type: ignore[return-value]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("case", ["q@kT", "p@v", "pT@g", "g@vT", "p@k", "contiguous"])
def test_stacked_views_equal_numpy(dtype: Any, case: str) -> None:
    q, k, v = _heads(dtype)
    p = (np.random.default_rng(1).standard_normal((3, 2, 7, 7)) * 3).astype(dtype)
    g = np.ascontiguousarray(q)
    a, b = {"q@kT": (q, k.swapaxes(-1, -2)), "p@v": (p, v), "pT@g": (p.swapaxes(-1, -2), g),
            "g@vT": (g, v.swapaxes(-1, -2)), "p@k": (p, k),
            "contiguous": (g, np.ascontiguousarray(k.swapaxes(-1, -2)))}[case]
    got, want = matmul(a, b), np.matmul(a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    if dtype == np.int64:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13,
                                   atol=1e-5 if dtype == np.float32 else 1e-12)
