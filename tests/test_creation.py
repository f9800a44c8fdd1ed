"""Creation functions: shapes, dtypes, ranges, random tensors and seeding."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("fn", [cr.zeros, cr.ones, cr.empty, cr.rand, cr.randn])
def test_shapes_and_default_float32(fn: object) -> None:
    for args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = fn(*args)  # type: ignore[operator]
        assert t.shape == (2, 3) and t.dtype == cr.float32 and not t.requires_grad
    assert fn(2, dtype=cr.float64).dtype == cr.float64  # type: ignore[operator]
    assert fn(2, requires_grad=True).requires_grad  # type: ignore[operator]
    assert fn().shape == ()  # type: ignore[operator]


def test_values() -> None:
    assert cr.zeros(2).tolist() == [0.0, 0.0]
    assert cr.ones(1, 2).tolist() == [[1.0, 1.0]]
    assert cr.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert cr.full((2,), 3).dtype == cr.int64
    assert cr.full((2,), 3.0).dtype == cr.float32
    assert cr.full((2,), True).dtype == cr.bool
    assert cr.full((1, 2), 7.5).tolist() == [[7.5, 7.5]]


def test_ranges() -> None:
    assert cr.arange(4).tolist() == [0, 1, 2, 3] and cr.arange(4).dtype == cr.int64
    assert cr.arange(1, 7, 2).tolist() == [1, 3, 5]
    a = cr.arange(0.0, 1.0, 0.25)
    assert a.dtype == cr.float32 and a.tolist() == [0.0, 0.25, 0.5, 0.75]
    lin = cr.linspace(0, 1, 5)
    assert lin.dtype == cr.float32 and lin.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_like_functions() -> None:
    x = cr.tensor([[1, 2]])
    assert cr.zeros_like(x).dtype == cr.int64 and cr.zeros_like(x).shape == (1, 2)
    assert cr.ones_like(cr.ones(3, dtype=cr.float64)).dtype == cr.float64
    assert cr.full_like(x, 5).tolist() == [[5, 5]]
    assert cr.rand_like(cr.ones(2, 2)).shape == (2, 2)
    assert cr.randn_like(cr.ones(4)).dtype == cr.float32


def test_negative_dimension_raises() -> None:
    with pytest.raises(RuntimeError, match="negative dimension"):
        cr.zeros(2, -1)


def test_manual_seed_reproducibility() -> None:
    cr.manual_seed(123)
    a = [cr.randn(3).tolist(), cr.rand(2).tolist(), cr.randint(0, 10, (4,)).tolist(),
         cr.randperm(5).tolist()]
    cr.manual_seed(123)
    b = [cr.randn(3).tolist(), cr.rand(2).tolist(), cr.randint(0, 10, (4,)).tolist(),
         cr.randperm(5).tolist()]
    assert a == b
    cr.manual_seed(124)
    assert cr.randn(3).tolist() != a[0]


def test_generator_streams_are_independent() -> None:
    g1, g2 = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    cr.manual_seed(0)
    x = cr.randn(4, generator=g1)
    cr.randn(10)  # the global stream does not disturb g2
    assert x.tolist() == cr.randn(4, generator=g2).tolist()


def test_rng_state_round_trip() -> None:
    cr.manual_seed(5)
    state = cr.get_rng_state()
    a = cr.rand(3).tolist()
    cr.set_rng_state(state)
    assert cr.rand(3).tolist() == a


def test_random_distributions_roughly_right() -> None:
    cr.manual_seed(0)
    u = cr.rand(20000).numpy()
    n = cr.randn(20000).numpy()
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert abs(n.mean()) < 0.03 and abs(n.std() - 1) < 0.03
    r = cr.randint(3, 6, (1000,))
    assert r.dtype == cr.int64 and set(r.tolist()) == {3, 4, 5}
    assert sorted(cr.randperm(6).tolist()) == list(range(6))
    m = cr.normal(2.0, 0.5, (20000,)).numpy()
    assert abs(m.mean() - 2) < 0.03 and abs(m.std() - 0.5) < 0.03


def test_tensor_copies_and_from_numpy_shares() -> None:
    arr = np.ones(3)
    t = cr.tensor(arr)
    arr[0] = 5
    assert t.tolist() == [1.0, 1.0, 1.0]
    s = cr.from_numpy(arr)
    arr[1] = 7
    assert s.tolist() == [5.0, 7.0, 1.0] and s.dtype == cr.float64
    assert cr.as_tensor(arr).array is arr
    with pytest.raises(TypeError):
        cr.from_numpy([1, 2])


def test_tensor_from_nested_tensors_and_bad_input() -> None:
    t = cr.tensor([cr.tensor(1.0), cr.tensor(2.0)])
    assert t.tolist() == [1.0, 2.0] and t.dtype == cr.float32
    with pytest.raises(TypeError, match="cannot make a tensor"):
        cr.tensor(["a", "b"])


def test_randint_high_and_size_form() -> None:
    r = cr.randint(5, (30,))
    assert r.shape == (30,) and r.dtype == cr.int64
    assert 0 <= min(r.tolist()) and max(r.tolist()) < 5
