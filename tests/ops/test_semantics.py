"""PyTorch's conventions where the gradient is a choice: ties of max/min, kinks, zeros of prod,
and the forward results of indexing with duplicates. Expected values are PyTorch's (checked
against torch in tests/parity/test_ops_torch.py); these tests need no torch."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

TIES = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]


def grad_of(fn: object, values: list) -> list:
    x = cr.tensor(values, dtype=cr.float64, requires_grad=True)
    out = fn(x)  # type: ignore[operator]
    out.backward(cr.ones_like(out))
    return x.grad.tolist()


def test_max_with_dim_sends_gradient_to_first_maximum_only() -> None:
    vals, idx = cr.tensor(TIES).max(1)
    assert vals.tolist() == [3.0, 2.0] and idx.tolist() == [1, 0]
    assert grad_of(lambda x: x.max(1).values, TIES) == [[0, 1, 0], [1, 0, 0]]
    assert grad_of(lambda x: x.min(0).values, TIES) == [[1, 0, 0], [0, 1, 1]]


def test_amax_amin_split_ties_evenly() -> None:
    assert grad_of(lambda x: x.amax(1), TIES) == [[0, 0.5, 0.5], [0.5, 0.5, 0]]
    assert grad_of(lambda x: x.amin(0), [[1.0, 2.0], [1.0, 0.0]]) == [[0.5, 0], [0.5, 1]]


def test_full_max_min_split_ties_evenly() -> None:
    assert grad_of(lambda x: x.max(), TIES) == [[0, 0.5, 0.5], [0, 0, 0]]
    assert grad_of(lambda x: x.min(), [[0.0, 1.0], [0.0, 0.0]]) == [[1 / 3, 0], [1 / 3, 1 / 3]]


def test_maximum_minimum_split_ties_evenly() -> None:
    other = cr.tensor([1.0, 0.0])
    assert grad_of(lambda x: cr.maximum(x, other), [1.0, 1.0]) == [0.5, 1.0]
    assert grad_of(lambda x: cr.minimum(x, other), [1.0, 1.0]) == [0.5, 0.0]


@pytest.mark.parametrize("fn, x, want", [
    (cr.relu, [-1.0, 0.0, 2.0], [0, 0, 1]),
    (cr.abs, [-1.0, 0.0, 2.0], [-1, 0, 1]),
    (lambda x: x.clamp(0.0, 1.0), [0.0, 0.5, 1.0, 2.0], [1, 1, 1, 0]),
    (lambda x: cr.leaky_relu(x, 0.1), [-1.0, 0.0, 1.0], [0.1, 0.1, 1]),
    (lambda x: x.norm(), [0.0, 0.0], [0, 0]),
    (lambda x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]], [[0, 0], [0.6, 0.8]]),
    (lambda x: x.sqrt(), [0.0], [float("inf")]),
])
@pytest.mark.filterwarnings("ignore:divide by zero")
def test_gradients_at_kinks(fn: object, x: list, want: list) -> None:
    np.testing.assert_allclose(grad_of(fn, x), want, rtol=1e-12)


@pytest.mark.parametrize("x", [[[0.0, 2.0, 3.0], [0.0, 0.0, 1.0]], [[0.0, 2.0, 3.0],
                                                                      [4.0, 5.0, 1.0]]])
def test_prod_with_zeros_has_exact_gradient(x: list) -> None:
    a = np.array(x)
    for dim in (None, 1):
        got = grad_of(lambda t: t.prod(dim), x)  # noqa: B023
        want = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            b = a.copy()
            b[i] = 1.0
            want[i] = b.prod() if dim is None else b[i[0]].prod()
        np.testing.assert_allclose(got, want)


def test_cumprod_with_zeros_has_exact_gradient() -> None:
    # d/dx_i Σ_k Π_{j≤k} x_j with x = [2, 0, 3, 0]: only products skipping x_i survive
    assert grad_of(lambda t: t.cumprod(0), [2.0, 0.0, 3.0, 0.0]) == [1, 2 + 6, 0, 0]


def test_index_with_duplicates_accumulates() -> None:
    assert grad_of(lambda x: x[cr.tensor([0, 0, 2, 0])], [1.0, 2.0, 3.0]) == [3, 0, 1]
    assert grad_of(lambda x: x[[1, 1]], [[1.0, 2.0], [3.0, 4.0]]) == [[0, 0], [2, 2]]
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x[x > 1.5].sum().backward()
    assert x.grad.tolist() == [[0, 1], [1, 1]]


def test_scatter_add_and_gather_with_duplicates() -> None:
    idx = cr.tensor([[0, 0, 1]])
    out = cr.zeros(1, 2).scatter_add(1, idx, cr.tensor([[1.0, 2.0, 3.0]]))
    assert out.tolist() == [[3.0, 3.0]]
    assert grad_of(lambda x: x.gather(1, idx), [[5.0, 6.0]]) == [[2, 1]]


def test_var_std_of_one_element_is_nan() -> None:
    assert np.isnan(cr.tensor([1.0]).var().item())
    assert np.isnan(cr.tensor([[1.0, 2.0]]).std(0)).all()
    assert cr.tensor([1.0]).var(correction=0).item() == 0.0


def test_flatten_start_after_end_raises() -> None:
    with pytest.raises(RuntimeError, match="start_dim"):
        cr.zeros(2, 3, 4).flatten(2, 1)


def test_softmax_stable_for_huge_logits() -> None:
    x = cr.tensor([1000.0, 0.0, -1000.0])
    assert np.isfinite(x.softmax(0).numpy()).all()
    np.testing.assert_allclose(x.log_softmax(0).numpy(), [0, -1000, -2000])
    assert np.isfinite(x.logsumexp(0).item())


def test_reshape_with_two_inferred_dims_raises() -> None:
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        cr.ones(2, 2).view(-1, -1)


def test_max_with_dim_of_zero_dim_tensor() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    values, indices = x.max(0)
    assert values.item() == 3.0 and indices.item() == 0
    values.backward()
    assert x.grad.item() == 1.0


def test_sigmoid_keeps_relative_precision_for_very_negative_inputs() -> None:
    x = cr.tensor([-40.0, -20.0, 0.0, 20.0, 100.0])
    want = 1 / (1 + np.exp(-np.array([-40.0, -20.0, 0.0, 20.0, 100.0])))
    np.testing.assert_allclose(x.sigmoid().numpy(), want, rtol=1e-6)
    assert x.sigmoid().dtype == cr.float32
    assert np.isfinite(x.sigmoid().log().numpy()).all()


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_gradient_of_zeroth_power_is_zero_even_at_zero() -> None:
    assert grad_of(lambda x: x**0, [0.0, 2.0]) == [0.0, 0.0]
    assert grad_of(lambda x: x ** cr.tensor([0.0, 2.0], dtype=cr.float64), [0.0, 3.0]) == [0, 6]
    x = cr.tensor([0.0, 2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradgradcheck(lambda t: t**0, [x])
