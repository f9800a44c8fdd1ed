"""Standardize: fitted statistics, round trip, state dict."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import Compose, Standardize


@given(seed=st.integers(0, 2**16), n=st.integers(5, 60), f=st.integers(1, 5))
@settings(max_examples=30, deadline=None)
def test_standardized_training_data_has_zero_mean_unit_variance(seed: int, n: int,
                                                                f: int) -> None:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, f)) * rng.uniform(0.5, 100, f) + rng.uniform(-50, 50, f))
    x = x.astype(np.float32)
    z = Standardize().fit_transform(x)
    assert z.dtype == np.float32 and z.shape == x.shape
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z.var(0), 1, rtol=1e-3)


def test_tensor_in_tensor_out_and_inverse() -> None:
    x = cr.tensor(np.random.default_rng(0).standard_normal((50, 3)) * 5 + 2, dtype=cr.float32)
    s = Standardize().fit(x)
    z = s(x)
    assert isinstance(z, cr.Tensor) and z.dtype == np.float32
    np.testing.assert_allclose(s.inverse(z).numpy(), x.numpy(), rtol=1e-5, atol=1e-5)


def test_constant_feature_is_centred_not_divided_by_zero() -> None:
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    z = Standardize().fit_transform(x)
    np.testing.assert_array_equal(z, [[-1.0, 0.0], [1.0, 0.0]])


def test_test_data_uses_training_statistics_and_state_dict_round_trip() -> None:
    train = np.array([[0.0], [2.0]])
    s = Standardize().fit(train)
    np.testing.assert_allclose(s.transform(np.array([[4.0]])), [[3.0]])
    t = Standardize()
    t.load_state_dict(s.state_dict())
    np.testing.assert_allclose(t.transform(np.array([[4.0]])), [[3.0]])


def test_unfitted_raises_and_compose() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        Standardize().transform(np.ones((2, 2)))
    f = Compose([lambda x: x + 1, lambda x: x * 2])
    assert f(1) == 4
