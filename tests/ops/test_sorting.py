"""sort, argsort, topk and kthvalue: values and indices as PyTorch gives them, gradients
through the selected elements (float64 finite differences)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck


def _x(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape).astype(
        np.float64)  # distinct values: the order is unique


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_orders_along_dim(dim: int, descending: bool) -> None:
    a = _x(4, 5)
    values, indices = cr.sort(cr.tensor(a), dim=dim, descending=descending)
    expect = np.sort(a, axis=dim)
    expect = np.flip(expect, axis=dim) if descending else expect
    np.testing.assert_array_equal(values.numpy(), expect)
    np.testing.assert_array_equal(np.take_along_axis(a, indices.numpy(), dim), expect)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(cr.tensor(a).argsort(dim, descending).numpy(), indices.numpy())


def test_sort_puts_nan_last_and_is_stable_ascending() -> None:
    values, _ = cr.sort(cr.tensor([2.0, float("nan"), 1.0]))
    assert values.tolist()[:2] == [1.0, 2.0] and np.isnan(values.tolist()[2])
    _, idx = cr.sort(cr.tensor([1.0, 0.0, 1.0, 0.0]), stable=True)
    assert idx.tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize("largest", [True, False])
def test_topk_and_kthvalue(largest: bool) -> None:
    a = _x(3, 6)
    values, idx = cr.tensor(a).topk(2, dim=1, largest=largest)
    order = np.argsort(-a if largest else a, axis=1)[:, :2]
    np.testing.assert_array_equal(idx.numpy(), order)
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(a, order, 1))
    kv, ki = cr.kthvalue(cr.tensor(a), 3, dim=1)
    np.testing.assert_array_equal(kv.numpy(), np.sort(a, 1)[:, 2])
    np.testing.assert_array_equal(ki.numpy(), np.argsort(a, 1)[:, 2])
    assert cr.kthvalue(cr.tensor(a), 1, 0, keepdim=True).values.shape == (1, 6)


def test_bad_k_and_dim_name_the_op() -> None:
    with pytest.raises(RuntimeError, match=r"topk: k \(7\) is out of range"):
        cr.topk(cr.ones(6), 7)
    with pytest.raises(RuntimeError, match="kthvalue"):
        cr.kthvalue(cr.ones(3), 0)
    with pytest.raises(IndexError, match="sort: dim 2"):
        cr.sort(cr.ones(2, 2), dim=2)


def test_gradients_reach_the_selected_elements() -> None:
    x = cr.tensor(_x(3, 4), requires_grad=True)
    assert gradcheck(lambda t: cr.sort(t, 1, descending=True).values * cr.arange(4.0,
                     dtype=cr.float64), (x,))
    assert gradcheck(lambda t: cr.topk(t, 2, dim=0).values, (x,))
    assert gradcheck(lambda t: cr.kthvalue(t, 2, 1).values, (x,))
    x.grad = None
    cr.topk(x, 1, dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (x.detach().numpy() == x.detach().numpy()
                                                   .max(1, keepdims=True)).astype(float))


def test_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((4, 7)).astype(np.float32)
    ours = cr.topk(cr.tensor(a, requires_grad=True), 3, dim=1)
    ta = torch.tensor(a, requires_grad=True)
    theirs = torch.topk(ta, 3, dim=1)
    np.testing.assert_array_equal(ours.values.detach().numpy(), theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    s_ours, s_theirs = cr.sort(cr.tensor(a), 0, True), torch.sort(torch.tensor(a), 0, True)
    np.testing.assert_array_equal(s_ours.values.numpy(), s_theirs.values.numpy())
    np.testing.assert_array_equal(s_ours.indices.numpy(), s_theirs.indices.numpy())
