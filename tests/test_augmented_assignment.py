"""``x op= y`` writes into ``x`` as in PyTorch: same object, same memory, version bumped; the
manual SGD update of the introductory tutorials trains."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

FLOAT_OPS = [("__iadd__", operator.iadd, np.add), ("__isub__", operator.isub, np.subtract),
             ("__imul__", operator.imul, np.multiply),
             ("__itruediv__", operator.itruediv, np.true_divide),
             ("__ipow__", operator.ipow, np.power), ("__ifloordiv__", operator.ifloordiv,
                                                     np.floor_divide),
             ("__imod__", operator.imod, np.mod)]
INT_OPS = [("__iand__", operator.iand, np.bitwise_and), ("__ior__", operator.ior, np.bitwise_or),
           ("__ixor__", operator.ixor, np.bitwise_xor)]


@pytest.mark.parametrize("name,op,ref", FLOAT_OPS, ids=[o[0] for o in FLOAT_OPS])
def test_float_operators_write_in_place(name: str, op: object, ref: object) -> None:
    a = np.array([1.5, 2.0, 3.25], np.float32)
    b = np.array([0.5, 1.5, 2.0], np.float32)
    x = cr.tensor(a)
    alias, memory, version = x, x.numpy(), x._version
    x = op(x, cr.tensor(b))
    assert x is alias
    assert np.shares_memory(x.numpy(), memory)
    assert x._version == version + 1
    np.testing.assert_allclose(x.numpy(), ref(a, b), rtol=1e-6)


@pytest.mark.parametrize("name,op,ref", INT_OPS, ids=[o[0] for o in INT_OPS])
def test_bitwise_operators_write_in_place(name: str, op: object, ref: object) -> None:
    a, b = np.array([6, 5, 12]), np.array([3, 1, 10])
    x = cr.tensor(a)
    alias = x
    x = op(x, cr.tensor(b))
    assert x is alias and x.dtype == cr.int64
    np.testing.assert_array_equal(x.numpy(), ref(a, b))


def test_matmul_in_place() -> None:
    a = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    x = cr.tensor(a)
    alias = x
    x @= cr.eye(2) * 2
    assert x is alias
    np.testing.assert_array_equal(x.numpy(), a * 2)


def test_a_view_sees_the_update() -> None:
    base = cr.zeros(2, 3)
    row = base[0]
    row += 1
    np.testing.assert_array_equal(base.numpy(), [[1, 1, 1], [0, 0, 0]])


def test_leaf_requiring_grad_refuses_outside_no_grad() -> None:
    w = cr.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w -= 1.0
    with cr.no_grad():
        w -= 1.0
    assert w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.detach().numpy(), 0)


def test_result_that_cannot_be_cast_back_is_refused() -> None:
    x = cr.arange(3)
    with pytest.raises(RuntimeError, match="__iadd__: result type float32 can't be cast to the "
                                           "desired output type int64"):
        x += 0.5
    np.testing.assert_array_equal(x.numpy(), [0, 1, 2])  # untouched


def test_broadcast_that_would_grow_the_tensor_is_refused() -> None:
    x = cr.zeros(3)
    with pytest.raises(RuntimeError, match=r"__iadd__: output with shape \(3,\) doesn't match "
                                           r"the broadcast shape \(2, 3\)"):
        x += cr.ones(2, 3)


def test_in_place_on_a_non_leaf_records_the_graph() -> None:
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    y += w
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])


def test_manual_sgd_with_augmented_assignment_trains() -> None:
    cr.manual_seed(0)
    x = cr.randn(128, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = cr.nn.Sequential(cr.nn.Linear(4, 16), cr.nn.ReLU(), cr.nn.Linear(16, 2))
    first = None
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with cr.no_grad():
            for p in model.parameters():
                p -= p.grad * 0.5
    assert loss.item() < 0.25 * first


def test_bfloat16_tensors_update_in_place() -> None:
    pytest.importorskip("ml_dtypes")
    x = cr.ones(3).bfloat16()
    alias = x
    x += 1
    x *= cr.tensor(1.5)
    assert x is alias and x.dtype == cr.bfloat16
    np.testing.assert_array_equal(x.float().numpy(), [3.0, 3.0, 3.0])
