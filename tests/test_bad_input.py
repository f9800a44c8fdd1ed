"""Inputs that used to give a silent wrong answer or a cryptic error now give PyTorch's value or
one clear error naming the operation and the offending value or shape."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def test_view_of_a_transposed_tensor_is_refused_and_reshape_copies() -> None:
    x = cr.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match=r"view: view size \[6\] is not compatible .* "
                                           r"Use \.reshape\(\.\.\.\) instead"):
        x.t().view(6)
    np.testing.assert_array_equal(x.t().reshape(6).numpy(), [0, 3, 1, 4, 2, 5])


def test_view_shares_memory_with_its_base() -> None:
    x = cr.arange(6.0).reshape(2, 3)
    y = x.view(3, 2)
    y[0, 0] = 100.0
    assert x[0, 0].item() == 100.0
    z = x[:, :2].view(2, 2)  # a strided slice whose rows stay contiguous: allowed
    assert z.shape == (2, 2)


@pytest.mark.parametrize("call,match", [
    (lambda x: x.unsqueeze(5), "unsqueeze: dimension 5 is out of range for a tensor with 3"),
    (lambda x: x.unsqueeze(-4), "unsqueeze: dimension -4 is out of range"),
    (lambda x: x.transpose(0, 2), "transpose: dimension 2 is out of range for a tensor with 2"),
    (lambda x: x.chunk(0), "chunk: chunks must be greater than 0, got 0"),
    (lambda x: x.split(0), "split: split_size can only be 0 if dimension size is 0"),
    (lambda x: x.split(-1), "split: split_size can only be 0"),
    (lambda x: cr.tensor([]).argmax(), r"argmax\(\): Expected reduction dim to be specified"),
    (lambda x: cr.zeros(2, 0).argmin(1), r"argmin\(\): Expected reduction dim 1 to have "
                                         r"non-zero size"),
    (lambda x: cr.arange(0, 5, 0), "arange: step must be nonzero"),
    (lambda x: cr.arange(5, 0, 1), "arange: upper bound and larger bound inconsistent"),
    (lambda x: cr.arange(5) // 0, "floor_divide: ZeroDivisionError"),
    (lambda x: cr.arange(5) % 0, "remainder: ZeroDivisionError"),
    (lambda x: cr.tensor([[1, 2], [3]]), r"tensor: expected sequence of length 2 at dim 1 "
                                         r"\(got 1\)"),
    (lambda x: cr.tensor([[1, 2], 3]), "tensor: expected a sequence or a number"),
    (lambda x: cr.nn.Sequential(cr.nn.Linear(2, 2), "relu"),
     "str is not a Module subclass"),
    (lambda x: cr.nn.Linear(2, 2).load_state_dict([1, 2, 3]),
     "load_state_dict: expected state_dict to be dict-like, got list"),
    (lambda x: cr.ones(2) & cr.ones(2), "bitwise_and: not implemented for dtype float32"),
])
def test_clear_errors(call: object, match: str) -> None:
    x = cr.arange(6.0).reshape(2, 3)
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError), match=match):
        call(x)


def test_mean_of_an_empty_tensor_is_nan() -> None:
    assert np.isnan(cr.tensor([]).mean().item())
    assert cr.zeros(0, 3).mean(0).shape == (3,)
    assert np.isnan(cr.zeros(0, 3).mean(0).numpy()).all()


@pytest.mark.parametrize("dtype", ["int64", "float64", "float16", "uint8", "bool"])
def test_float32_layers_refuse_other_input_dtypes(dtype: str) -> None:
    x = cr.ones(2, 3, dtype=np.dtype(dtype))
    with pytest.raises(RuntimeError, match=f"linear: expected all operands to have the same "
                                           f"dtype, but got {dtype} and float32"):
        cr.nn.Linear(3, 2)(x)
    img = cr.ones(1, 1, 5, 5, dtype=np.dtype(dtype))
    with pytest.raises(RuntimeError, match=f"conv2d: .* but got {dtype} and float32"):
        cr.nn.Conv2d(1, 2, 3)(img)


def test_matmul_of_different_dtypes_is_refused() -> None:
    with pytest.raises(RuntimeError, match="matmul: .* float32 and float64"):
        cr.ones(2, 2) @ cr.ones(2, 2, dtype=cr.float64)


def test_binary_cross_entropy_of_saturated_sigmoid_has_finite_gradients() -> None:
    for v in (17.0, 20.0, 40.0):
        z = cr.tensor([v, -v, 0.5], requires_grad=True)
        loss = F.binary_cross_entropy(cr.sigmoid(z), cr.tensor([0.0, 1.0, 1.0]))
        loss.backward()
        assert np.isfinite(loss.item())
        assert np.isfinite(z.grad.numpy()).all(), (v, z.grad)
