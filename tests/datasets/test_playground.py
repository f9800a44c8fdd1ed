"""TensorFlow Playground's 2-D sets: shapes, ranges, seeds and the xor layout."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.datasets import playground as P


@pytest.mark.parametrize("name", [*P.CLASSIFICATION, *P.REGRESSION])
def test_datasets_shapes_ranges_and_seeds(name):
    p, y = P.make_playground(name, 0.2, seed=3)
    n = P.N_CLASSIFICATION if name in P.CLASSIFICATION else P.N_REGRESSION
    assert p.shape == (n, 2) and y.shape == (n,) and p.dtype == np.float32
    assert np.abs(p).max() <= 7.5 and np.abs(y).max() <= 1
    if name in P.CLASSIFICATION:
        assert set(np.unique(y)) == {-1.0, 1.0}
    p2, y2 = P.make_playground(name, 0.2, seed=3)
    np.testing.assert_array_equal(p, p2)
    assert not np.array_equal(p, P.make_playground(name, 0.2, seed=4)[0])


def test_xor_labels_follow_quadrants_without_noise():
    p, y = P.make_playground("xor", 0.0, seed=0)
    np.testing.assert_array_equal(y, np.where(p[:, 0] * p[:, 1] >= 0, 1.0, -1.0))
    assert np.abs(p).min() >= 0.3  # TF Playground's padding off the axes


def test_unknown_name_and_noise_are_refused():
    with pytest.raises(ValueError, match="unknown dataset 'moons'; choose one of circle"):
        P.make_playground("moons")
    with pytest.raises(ValueError, match=r"noise must be in \[0, 0.5\], got 0.6"):
        P.make_playground("xor", 0.6)
