"""``Tensor.data`` has PyTorch's semantics: a tensor over the same storage, outside autograd."""

import numpy as np
import pytest

import chainrule as cr


def test_data_is_a_tensor_sharing_storage():
    p = cr.nn.Parameter(cr.ones(3))
    d = p.data
    assert type(d) is cr.Tensor and not d.requires_grad and d.grad_fn is None
    d.add_(cr.ones(3), alpha=-0.5)
    np.testing.assert_array_equal(p.array, [0.5, 0.5, 0.5])
    assert np.shares_memory(d.array, p.array)


def test_writes_through_data_are_not_recorded():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    w.data.mul_(3.0)  # allowed on a leaf that requires grad: .data is outside autograd
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.array, [6.0, 12.0])


def test_assigning_data_swaps_storage_and_may_change_shape_and_dtype():
    p = cr.nn.Parameter(cr.zeros(2, 3))
    other = cr.arange(4.0, dtype=cr.float64)
    p.data = other.data
    assert p.shape == (4,) and p.dtype == cr.float64 and p.requires_grad
    assert np.shares_memory(p.array, other.array)


def test_assigning_data_matches_pytorch_optimizer_idiom():
    torch = pytest.importorskip("torch")
    w0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    results = []
    for lib in (cr, torch):
        w = lib.tensor(w0.copy(), requires_grad=True)
        for _ in range(3):
            loss = (w * w).sum()
            loss.backward()
            w.data.add_(w.grad.data, alpha=-0.1)  # the classic hand-written SGD step
            w.grad.data.zero_()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_assigning_a_non_tensor_is_refused():
    p = cr.nn.Parameter(cr.ones(2))
    with pytest.raises(TypeError, match=r"Tensor\.data.*ndarray"):
        p.data = np.zeros(2)
