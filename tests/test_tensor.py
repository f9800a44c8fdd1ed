"""Tensor basics: dtype rules, conversions, metadata, repr, in-place semantics."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr

INT_OPS = [lambda t, s: t * s, lambda t, s: s * t, lambda t, s: t + s, lambda t, s: t - s,
           lambda t, s: s - t, lambda t, s: t / s, lambda t, s: t**s]


@pytest.mark.parametrize("op", INT_OPS)
@given(s=st.floats(0.5, 3.0))
def test_float32_with_python_float_stays_float32(op: object, s: float) -> None:
    x = cr.tensor([1.0, 2.0])
    assert op(x, s).dtype == cr.float32  # type: ignore[operator]


@pytest.mark.parametrize("op", INT_OPS)
def test_int_tensor_with_python_float_gives_float32(op: object) -> None:
    assert op(cr.tensor([1, 2]), 1.5).dtype == cr.float32  # type: ignore[operator]


def test_default_dtypes() -> None:
    assert cr.tensor([1.0, 2.0]).dtype == cr.float32
    assert cr.tensor(1.5).dtype == cr.float32
    assert cr.tensor([1, 2]).dtype == cr.int64
    assert cr.tensor([True]).dtype == cr.bool
    assert cr.tensor(np.array([1.0])).dtype == cr.float64  # arrays keep their dtype
    assert (cr.tensor([1, 2]) * 2).dtype == cr.int64
    assert (cr.tensor([3, 4]) / 2).dtype == cr.float32
    assert (cr.tensor([1.0]) + cr.tensor([1.0], dtype=cr.float64)).dtype == cr.float64


def test_reductions_and_unary_keep_float32() -> None:
    x = cr.tensor([1.0, 2.0, 3.0])
    for y in (x.sum(), x.mean(), x.var(), x.exp(), x.softmax(0), x.sqrt(), x.norm(),
              x.sigmoid(), cr.gelu(x), x.prod(), x.logsumexp(0), x.std()):
        assert y.dtype == cr.float32
    assert cr.tensor([1, 2]).sum().dtype == cr.int64
    assert cr.tensor([True, True]).sum().item() == 2


def test_gradients_have_the_leaf_dtype() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * cr.tensor([1.0, 1.0], dtype=cr.float64)).sum().backward()
    assert x.grad.dtype == cr.float32


def test_item_tolist_numpy() -> None:
    t = cr.tensor([[1.5, 2.0]])
    assert t[0, 0].item() == 1.5
    assert isinstance(cr.tensor(3).item(), int)
    assert t.tolist() == [[1.5, 2.0]]
    arr = t.numpy()
    arr[0, 0] = 7  # numpy() shares memory, as in PyTorch
    assert t[0, 0].item() == 7
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted"):
        t.item()
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        cr.tensor([1.0], requires_grad=True).numpy()
    assert float(cr.tensor(2)) == 2.0 and int(cr.tensor(3.7)) == 3


def test_detach_shares_memory_and_leaves_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.array, y.array)


def test_clone_copies_and_stays_in_graph() -> None:
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    assert not np.shares_memory(c.array, x.array)
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_conversions() -> None:
    x = cr.tensor([1.7, -2.2], requires_grad=True)
    assert x.double().dtype == cr.float64 and x.double().requires_grad
    assert x.float() is x
    assert x.to(cr.float64).dtype == cr.float64
    assert x.to("cpu") is x
    long = x.long()
    assert long.dtype == cr.int64 and long.tolist() == [1, -2]
    assert not long.requires_grad  # no gradient flows into integers, as in PyTorch
    assert x.int().dtype == cr.int32 and x.bool().dtype == cr.bool
    x.double().sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [1.0, 1.0]


def test_metadata() -> None:
    x = cr.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3
    assert x.numel() == 24 and len(x) == 2
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.is_leaf and x.is_floating_point() and x.device == "cpu"
    assert [t.shape for t in x] == [(3, 4), (3, 4)]
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))


@pytest.mark.parametrize("make, text", [
    (lambda: cr.tensor([1.0, 2.0]), "tensor([1., 2.])"),
    (lambda: cr.tensor([1.5, 2.25]), "tensor([1.5000, 2.2500])"),
    (lambda: cr.tensor(3.14159), "tensor(3.1416)"),
    (lambda: cr.tensor([1, 2]), "tensor([1, 2])"),
    (lambda: cr.tensor([1.0], dtype=cr.float64), "tensor([1.], dtype=float64)"),
    (lambda: cr.tensor([1.0], requires_grad=True), "tensor([1.], requires_grad=True)"),
    (lambda: cr.tensor([[1.0, 2.0], [3.0, 4.5]]),
     "tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]])"),
])
def test_repr_like_pytorch(make: object, text: str) -> None:
    assert repr(make()) == text  # type: ignore[operator]


def test_repr_names_grad_fn() -> None:
    y = cr.tensor([1.0], requires_grad=True) * 2
    assert repr(y).startswith("tensor([2.], grad_fn=<Mul")


def test_bool_of_multi_element_tensor_raises() -> None:
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))


def test_inplace_methods_bump_version_and_keep_dtype() -> None:
    x = cr.tensor([1.0, 2.0])
    v = x._version
    x.add_(1).mul_(2).sub_(1, alpha=2).div_(2)
    assert x.tolist() == [1.0, 2.0] and x.dtype == cr.float32
    assert x._version == v + 4
    x[0] = 5
    assert x.tolist() == [5.0, 2.0]
    x.zero_()
    assert x.tolist() == [0.0, 0.0]
    x.fill_(2.5).clamp_(max=1.0)
    assert x.tolist() == [1.0, 1.0]


def test_setitem_on_non_leaf_is_differentiable() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = cr.tensor(10.0, requires_grad=True)
    y = x * 1
    y[1] = v * 2
    (y * cr.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 3.0]
    assert v.grad.item() == 4.0


def test_comparisons_and_logic() -> None:
    a = cr.tensor([1, 2, 3])
    assert (a > 1).tolist() == [False, True, True]
    assert (a == 2).dtype == cr.bool
    assert ((a > 1) & (a < 3)).tolist() == [False, True, False]
    assert (~(a > 1)).tolist() == [True, False, False]
    assert cr.equal(a, cr.tensor([1, 2, 3]))


def test_to_with_device_and_dtype() -> None:
    x = cr.ones(2)
    assert x.to("cpu") is x
    assert x.to("cpu", cr.float64).dtype == cr.float64
    assert x.to(dtype=cr.float64).dtype == cr.float64


@pytest.mark.parametrize("module", [
    "chainrule.tensor", "chainrule.creation", "chainrule.autograd.engine",
    "chainrule.autograd.grad_mode", "chainrule.autograd.custom", "chainrule.ops.elementwise",
    "chainrule.ops.reduce", "chainrule.ops.movement", "chainrule.ops.linalg",
])
def test_docstring_examples_run(module: str) -> None:
    """The ``Example:`` sections of the core modules are doctests, and they hold."""
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
