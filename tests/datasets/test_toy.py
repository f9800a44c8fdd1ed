import numpy as np
import pytest

from chainrule.datasets import make_blobs, make_circles, make_moons, make_spiral, make_xor


@pytest.mark.parametrize("fn,k", [(make_moons, 2), (make_circles, 2), (make_spiral, 3),
                                  (make_xor, 2), (make_blobs, 3)])
def test_toy_sets(fn, k):
    x, y = fn(101, seed=1)
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(k))
    x2, y2 = fn(101, seed=1)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


def test_xor_labels_follow_quadrants():
    x, y = make_xor(500)
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(np.int64))


def test_bad_args():
    with pytest.raises(ValueError, match="factor"):
        make_circles(factor=2.0)
    with pytest.raises(ValueError, match="n must be"):
        make_spiral(2, classes=3)
