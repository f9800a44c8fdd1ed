"""The backward engine: path summation, accumulation, graph freeing, deep graphs, saved-value
release, higher derivatives, and the worked examples of the notes."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from strategies import FINITE, arrays, broadcastable, like


def leaf(a: np.ndarray) -> cr.Tensor:
    return cr.tensor(a, dtype=cr.float64, requires_grad=True)


# ---- the notes' worked examples ---------------------------------------------------------------
def test_reciprocal_sine_of_exp_value_and_derivative() -> None:
    """f(x) = 2 / sin(exp(−x)) at x = −4.499; f'(x) = −2/c²·cos(b)·eᵃ·(−1), a = −x, b = eᵃ,
    c = sin b."""
    xv = -4.499
    x = cr.tensor(xv, dtype=cr.float64, requires_grad=True)
    f = 2 / (-x).exp().sin()
    a = -xv
    b = math.exp(a)
    c = math.sin(b)
    assert f.item() == pytest.approx(2 / np.sin(np.exp(-xv)), rel=1e-12)
    f.backward()
    assert x.grad.item() == pytest.approx(-2 / c**2 * math.cos(b) * math.exp(a) * -1, rel=1e-10)


def test_diamond_sums_both_paths() -> None:
    """c = a·b + b with a = x², b = 3x: dc/dx = 2x·b + a·3 + 3."""
    x = cr.tensor(1.7, dtype=cr.float64, requires_grad=True)
    a, b = x * x, 3 * x
    c = a * b + b
    c.backward()
    assert x.grad.item() == pytest.approx(2 * 1.7 * 3 * 1.7 + 1.7**2 * 3 + 3, rel=1e-12)


def test_second_derivative_of_cube_times_sine() -> None:
    xv = 0.83
    x = cr.tensor(xv, dtype=cr.float64, requires_grad=True)
    y = x**3 * x.sin()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    assert g.item() == pytest.approx(3 * xv**2 * math.sin(xv) + xv**3 * math.cos(xv))
    (gg,) = cr.autograd.grad(g, x)
    want = 6 * xv * math.sin(xv) + 6 * xv**2 * math.cos(xv) - xv**3 * math.sin(xv)
    assert gg.item() == pytest.approx(want, rel=1e-12)


def test_second_derivative_through_backward_with_create_graph() -> None:
    x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
    (x**4).backward(create_graph=True)
    g = x.grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(12 * 0.25)


def test_hundred_thousand_op_chain_backpropagates() -> None:
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


# ---- properties -------------------------------------------------------------------------------
@given(data=st.data(), shapes=broadcastable(2))
def test_diamond_on_random_broadcast_shapes(data: st.DataObject, shapes: object) -> None:
    """z = (x·y) + (x + y)·x reaches x by three paths; the gradient is their sum, reduced to
    x's shape, for a random upstream gradient."""
    sx, sy = shapes.input_shapes
    xa, ya = data.draw(arrays(sx)), data.draw(arrays(sy))
    up = data.draw(like(shapes.result_shape))
    x, y = leaf(xa), leaf(ya)
    z = x * y + (x + y) * x
    z.backward(cr.tensor(up, dtype=cr.float64))
    gx = (ya + 2 * xa + ya) * up
    gy = (xa + xa) * up
    np.testing.assert_allclose(x.grad.array, _reduce_to(gx, sx), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(y.grad.array, _reduce_to(gy, sy), rtol=1e-10, atol=1e-12)


def _reduce_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


@given(x=arrays(), calls=st.integers(1, 3))
def test_grad_accumulates_across_backward_calls(x: np.ndarray, calls: int) -> None:
    t = leaf(x)
    for _ in range(calls):
        (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.array, calls * 2 * x, rtol=1e-12)


@given(x=arrays())
def test_graph_is_freed_after_backward(x: np.ndarray) -> None:
    t = leaf(x)
    y = (t.exp() * t).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


@given(x=arrays())
def test_retain_graph_allows_a_second_backward(x: np.ndarray) -> None:
    t = leaf(x)
    y = (t.exp() * t).sum()
    y.backward(retain_graph=True)
    first = t.grad.array.copy()
    y.backward()
    np.testing.assert_allclose(t.grad.array, 2 * first, rtol=1e-12)


@given(shapes=broadcastable(2), data=st.data())
def test_leaf_grads_never_alias(shapes: object, data: st.DataObject) -> None:
    """``a + b`` hands the same gradient to both leaves; each must get its own array, distinct
    from the upstream gradient too."""
    sa, sb = shapes.input_shapes
    a, b = leaf(data.draw(arrays(sa))), leaf(data.draw(arrays(sb)))
    up = cr.tensor(data.draw(like(shapes.result_shape)), dtype=cr.float64)
    kept = up.array.copy()
    (a + b).backward(up)
    assert not np.shares_memory(a.grad.array, b.grad.array)
    assert not np.shares_memory(a.grad.array, up.array)
    assert not np.shares_memory(b.grad.array, up.array)
    a.grad.array += 1  # an optimizer writing into one .grad leaves the others alone
    np.testing.assert_array_equal(up.array, kept)
    np.testing.assert_allclose(b.grad.array, _reduce_to(np.broadcast_to(kept, up.shape), sb))


def test_leaf_backward_copies_the_given_gradient() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    up = cr.tensor([3.0, 4.0])
    x.backward(up)
    x.grad.array[0] = 0
    assert up.tolist() == [3.0, 4.0]


@given(x=arrays(), up=st.floats(-3, 3, allow_nan=False))
def test_inputs_and_upstream_unchanged(x: np.ndarray, up: float) -> None:
    t = leaf(x)
    kept = x.copy()
    g = cr.tensor(np.full(x.shape, up))
    (t.sin() * t).backward(g)
    np.testing.assert_array_equal(t.array, kept)
    np.testing.assert_array_equal(g.array, np.full(x.shape, up))


def test_saved_values_released_after_backward() -> None:
    x = leaf(np.ones(1000))
    h = x.exp()  # exp saves its output for backward
    ref = weakref.ref(h.grad_fn.out)
    loss = (h * 2).sum()
    del h
    gc.collect()
    assert ref() is not None, "the graph keeps the saved output until backward"
    loss.backward()
    gc.collect()
    assert ref() is None, "backward must release the saved output"


def test_retain_graph_keeps_saved_values() -> None:
    x = leaf(np.ones(10))
    h = x.exp()
    ref = weakref.ref(h.grad_fn.out)
    loss = h.sum()
    del h
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


@given(x=arrays(), k=st.integers(1, 4))
def test_reused_leaf_sums_over_uses(x: np.ndarray, k: int) -> None:
    t = leaf(x)
    y = t
    for _ in range(k):
        y = y + t
    y.sum().backward()
    np.testing.assert_allclose(t.grad.array, np.full(x.shape, k + 1.0))


@given(v=FINITE)
def test_backward_inputs_restricts_accumulation(v: float) -> None:
    a = cr.tensor(v, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(2.0, dtype=cr.float64, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0
    assert b.grad is None


def test_create_graph_grads_are_separate_and_accumulate() -> None:
    """After a create_graph backward, leaves sharing one upstream gradient own separate
    .grads, and a later plain backward accumulates into them."""
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([1.0, 2.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and not np.shares_memory(a.grad.array, b.grad.array)
    (a + b).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0] and b.grad.tolist() == [2.0, 2.0]


# ---- gradients of slices summed in place ------------------------------------------------------
def _sliced_loss(x: cr.Tensor, w: np.ndarray) -> cr.Tensor:
    """x (non-leaf, (2, 3, 6)) used whole, in three pieces of its last axis, and at a
    strided slice that overlaps them: every path adds into x's gradient."""
    q, k, v = x.split(2, dim=-1)
    ww = cr.tensor(w)
    return ((q * ww[..., 0:2]).sum() + (k * k).sum() + (v.exp() * 3).sum() + x.sum() * 0.5
            + (x[:, ::2, 1:5] ** 2).sum() + x[1, 2].sum())


def _sliced_grad(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    x = a * 2
    g = np.zeros_like(x)
    g[..., 0:2] += w[..., 0:2]
    g[..., 2:4] += 2 * x[..., 2:4]
    g[..., 4:6] += 3 * np.exp(x[..., 4:6])
    g += 0.5
    g[:, ::2, 1:5] += 2 * x[:, ::2, 1:5]
    g[1, 2] += 1
    return g * 2


def test_gradients_of_slices_add_into_one_array_as_the_sum_of_the_paths(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.ops import movement

    zero_filled: list[tuple[int, ...]] = []
    index_add = movement.IndexAdd.forward
    monkeypatch.setattr(movement.IndexAdd, "forward",
                        lambda self, g: zero_filled.append(self.shape) or index_add(self, g))
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3, 6))
    t = leaf(a)
    x = t * 2
    x.retain_grad()
    seen: list[np.ndarray] = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    _sliced_loss(x, w).backward(retain_graph=True)
    want = _sliced_grad(a, w)
    np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), want / 2, rtol=1e-12)
    np.testing.assert_allclose(seen[0], want / 2, rtol=1e-12)
    assert zero_filled == []  # no zero-filled array per slice
    kept = x.grad.numpy().copy()
    _sliced_loss(x, w).backward()  # a second pass sums afresh, leaving the first's arrays alone
    np.testing.assert_allclose(t.grad.numpy(), 2 * want, rtol=1e-12)
    np.testing.assert_array_equal(seen[0], want / 2)
    np.testing.assert_allclose(x.grad.numpy(), 2 * kept, rtol=1e-12)


def test_gradients_of_slices_through_ops_where_the_graph_is_recorded() -> None:
    # create_graph: the slices' gradients are ops, and the second derivative is right
    rng = np.random.default_rng(1)
    a, w = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 3, 6))
    t = leaf(a)
    (g,) = cr.autograd.grad(_sliced_loss(t * 2, w), t, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), _sliced_grad(a, w), rtol=1e-12)
    (h,) = cr.autograd.grad(g.sum(), t)
    x = a * 2  # d/da of Σ g: from k², exp(v)·3 and the strided square
    want = np.zeros_like(a)
    want[..., 2:4] += 4 * 2
    want[..., 4:6] += 3 * np.exp(x[..., 4:6]) * 4
    want[:, ::2, 1:5] += 2 * 4
    np.testing.assert_allclose(h.numpy(), want, rtol=1e-12)
