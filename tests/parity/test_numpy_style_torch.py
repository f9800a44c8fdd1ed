"""PyTorch's NumPy-style functions (joins, selections, products, nan-reductions, median, diff,
rot90, index helpers, float classification) against PyTorch itself: values, dtypes and the
gradients reaching every input. The op table's matrices check the differentiable ones
against NumPy and finite differences too; masked_select, whose shape depends on the values,
is checked here alone."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))
V = RNG.standard_normal(3)
W = RNG.standard_normal(3)


def _grads(lib: Any, fn: Callable[..., Any], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """fn's output and the gradient of Σ output·(1, 2, 3, ...) for every input."""
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    total = 0
    for o in outs:
        if o.dtype == lib.float64:
            weights = lib.tensor(np.arange(1.0, 1.0 + o.numel()).reshape(tuple(o.shape)))
            total = total + (o * weights).sum()
    total.backward()
    return [o.detach().numpy() for o in outs] + [x.grad.numpy() if x.grad is not None
                                                  else np.zeros_like(a)
                                                  for x, a in zip(xs, arrays)]


CASES: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "hstack": (lambda lib, a, b: lib.hstack([a, b]), [A, B]),
    "vstack": (lambda lib, v, w: lib.vstack([v, w]), [V, W]),
    "dstack": (lambda lib, a, b: lib.dstack([a, b]), [A, B]),
    "column_stack": (lambda lib, v, a: lib.column_stack([v, a[:, :2]]), [V, A]),
    "atleast_3d": (lambda lib, v, a: lib.atleast_3d(v, a), [V, A]),
    "broadcast_tensors": (lambda lib, v, a: lib.broadcast_tensors(v[:, None], a), [V, A]),
    "masked_select": (lambda lib, a, b: lib.masked_select(a, b > 0), [A, B]),
    "take": (lambda lib, a: lib.take(a, lib.tensor([[0, 5], [11, 5]])), [A]),
    "take_along_dim": (lambda lib, a: lib.take_along_dim(a, a.argsort(1)[:, :2], 1), [A]),
    "select": (lambda lib, a: lib.select(a, 1, -1), [A]),
    "ravel": (lambda lib, a: lib.ravel(a.T), [A]),
    "rot90": (lambda lib, a: lib.rot90(a, 3, (1, 0)), [A]),
    "fliplr": (lambda lib, a: lib.fliplr(a), [A]),
    "median": (lambda lib, a: (lib.median(a), lib.median(a, 1)[0]), [A]),
    "nansum": (lambda lib, a: lib.nansum(a.masked_fill(a > 1, math.nan), 0), [A]),
    "nanmean": (lambda lib, a: lib.nanmean(a.masked_fill(a > 1, math.nan), 1), [A]),
    "var_mean": (lambda lib, a: lib.var_mean(a, 1), [A]),
    "std_mean": (lambda lib, a: lib.std_mean(a, 0, correction=0), [A]),
    "diff": (lambda lib, a, v: lib.diff(a, 2, 0, prepend=v[None, :1].expand(2, 4)), [A, V]),
    "logaddexp": (lambda lib, a, b: lib.logaddexp(a * 300, b), [A, B]),
    "logaddexp2": (lambda lib, a, b: lib.logaddexp2(a, b), [A, B]),
    "tensordot": (lambda lib, a, b: lib.tensordot(a, b, ([1], [1])), [A, B]),
    "inner": (lambda lib, a, b: lib.inner(a, b), [A, B]),
    "vdot": (lambda lib, v, w: lib.vdot(v, w), [V, W]),
    "kron": (lambda lib, a, v: lib.kron(a, v[None]), [A, V]),
    "mv": (lambda lib, a, v: lib.mv(a.T, v), [A, V]),
    "cross": (lambda lib, a, b: lib.cross(a[:, :3], b[:, :3], dim=1), [A, B]),
    "dist": (lambda lib, a, b: lib.dist(a, b, 3), [A, B]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_pytorch(name: str) -> None:
    fn, arrays = CASES[name]
    mine, theirs = _grads(cr, fn, arrays), _grads(torch, fn, arrays)
    assert len(mine) == len(theirs)
    for m, t in zip(mine, theirs):
        assert m.shape == t.shape
        np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-12)


def test_masked_select_gradient_by_finite_differences() -> None:
    mask = cr.tensor(B > 0)
    assert cr.autograd.gradcheck(lambda a: cr.masked_select(a, mask),
                                 [cr.tensor(A, requires_grad=True)])


def test_classification_and_index_helpers_match_pytorch() -> None:
    v = np.array([-math.inf, -1.0, -0.0, 0.0, math.inf, math.nan])
    for name in ("isinf", "isposinf", "isneginf", "signbit"):
        mine = getattr(cr, name)(cr.tensor(v))
        theirs = getattr(torch, name)(torch.tensor(v))
        assert mine.dtype == cr.bool
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=name)
    x, t = np.array([3, 1, 4, 1, 5]), np.array([1, 5])
    for invert in (False, True):
        np.testing.assert_array_equal(
            cr.isin(cr.tensor(x), cr.tensor(t), invert=invert).numpy(),
            torch.isin(torch.tensor(x), torch.tensor(t), invert=invert).numpy())
    for args in [(3, 3), (4, 2, 1), (2, 5, -1), (0, 3)]:
        for name in ("tril_indices", "triu_indices"):
            mine, theirs = getattr(cr, name)(*args), getattr(torch, name)(*args)
            assert mine.dtype == cr.int64
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=f"{name}{args}")


def test_bad_input_names_the_function() -> None:
    with pytest.raises(RuntimeError, match="cross: inputs dimension 0 must have length 3"):
        cr.cross(cr.ones(2, 3), cr.ones(2, 3), dim=0)
    with pytest.raises(RuntimeError, match="rot90: expected rotation dims to be different"):
        cr.rot90(cr.ones(2, 2), 1, (0, 0))
    with pytest.raises(RuntimeError, match="tensordot: contracted dims"):
        cr.tensordot(cr.ones(2, 3), cr.ones(4, 2), 1)
    with pytest.raises(RuntimeError, match="mv: expected a matrix and a vector"):
        cr.mv(cr.ones(2), cr.ones(2))
    with pytest.raises(RuntimeError, match="diff: expects input to be at least one-dim"):
        cr.diff(cr.tensor(1.0))
    with pytest.raises(IndexError, match="select: index 3 out of range"):
        cr.select(cr.ones(2, 3), 1, 3)


MORE: dict[str, tuple[Callable[..., Any], list[np.ndarray]]] = {
    "fmax": (lambda lib, a, b: lib.fmax(a.masked_fill(a > 1, math.nan), b), [A, B]),
    "fmin": (lambda lib, a, b: lib.fmin(a, b.masked_fill(b < 0, math.nan)), [A, B]),
    "sinc": (lambda lib, a: lib.sinc(a.masked_fill(a > 1, 0.0)), [A]),
    "float_power": (lambda lib, a, b: lib.float_power(a.abs() + 0.5, b), [A, B]),
    "copysign": (lambda lib, a, b: lib.copysign(a, b), [A, B]),
    # (non-negative exponents: PyTorch's ldexp gradient is 0 for negative integer ones)
    "ldexp": (lambda lib, a: lib.ldexp(a, lib.tensor([[1, 2, 0, 3]])), [A]),
    "tensor_split": (lambda lib, a: lib.tensor_split(a, [1, -1], 1), [A]),
    "hsplit": (lambda lib, a: lib.hsplit(a, 2), [A]),
    "vsplit": (lambda lib, a: lib.vsplit(a, [2]), [A]),
    "unfold": (lambda lib, a: a.unfold(1, 2, 1).unfold(0, 2, 1), [A]),
    "index_fill": (lambda lib, a: a.index_fill(1, lib.tensor([0, 3]), -1.0), [A]),
    "index_copy": (lambda lib, a, b: a.index_copy(0, lib.tensor([2, 0]), b[:2]), [A, B]),
    "fill_diagonal_": (lambda lib, a: (a * 1).fill_diagonal_(7.0, wrap=True), [A]),
    "addmv": (lambda lib, a, v: lib.addmv(a[0], a.T, v, beta=0.5, alpha=2), [A, V]),
    "addr": (lambda lib, a, v: lib.addr(a[:, :3], v, v, beta=2), [A, V]),
    "addbmm": (lambda lib, a, b: lib.addbmm(a[:1, :1], a[None], b.T[None], alpha=3), [A, B]),
    "renorm": (lambda lib, a: a.renorm(2, 0, 1.5), [A]),
    "renorm-1": (lambda lib, a: a.renorm(1, 1, 1.0), [A]),
    "slice_scatter": (lambda lib, a, b: lib.slice_scatter(a, b[::2] * 1, 0, 0, 3, 2), [A, B]),
    "mode": (lambda lib, a: lib.mode((a * 2).round(), 1)[0] * a[:, 0], [A]),
    "sum_to_size": (lambda lib, a: a.sum_to_size(1, 4), [A]),
}


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_values_and_gradients_match_pytorch(name: str) -> None:
    fn, arrays = MORE[name]
    mine, theirs = _grads(cr, fn, arrays), _grads(torch, fn, arrays)
    for m, t in zip(mine, theirs):
        assert m.shape == t.shape
        np.testing.assert_allclose(m, t, rtol=1e-10, atol=1e-12)


def test_integer_and_count_functions_match_pytorch() -> None:
    a, b = np.array([12, -9, 0, 7]), np.array([8, 6, 5, 0])
    for name in ("gcd", "lcm"):
        np.testing.assert_array_equal(getattr(cr, name)(cr.tensor(a), cr.tensor(b)).numpy(),
                                      getattr(torch, name)(torch.tensor(a),
                                                           torch.tensor(b)).numpy())
    h = np.array([-1.0, 0.0, 2.0, 0.0])
    np.testing.assert_array_equal(
        cr.heaviside(cr.tensor(h), cr.tensor(0.5, dtype=cr.float64)).numpy(),
        torch.heaviside(torch.tensor(h), torch.tensor(0.5, dtype=torch.float64)).numpy())
    assert cr.autograd.gradcheck(lambda a: cr.ldexp(a, cr.tensor([[1, -2, 0, 3]])),
                                 [cr.tensor(A, requires_grad=True)])
    x = np.array([[1, 1], [1, 1], [2, 3], [1, 1]])
    for dim in (None, 0):
        mine = cr.unique_consecutive(cr.tensor(x), True, True, dim)
        theirs = torch.unique_consecutive(torch.tensor(x), True, True, dim)
        for m, t in zip(mine, theirs):
            np.testing.assert_array_equal(m.numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="gcd: expected integer tensors"):
        cr.gcd(cr.ones(2), cr.ones(2))
    with pytest.raises(RuntimeError, match="hsplit attempted to split along dimension 1"):
        cr.hsplit(cr.ones(2, 3), 2)
    with pytest.raises(RuntimeError, match="unfold: size 5 and step 1 do not fit"):
        cr.ones(3).unfold(0, 5, 1)


def test_dtype_shorthands_and_random_fill_match_pytorch() -> None:
    for name in ("byte", "char", "short"):
        mine, theirs = getattr(cr.ones(2), name)(), getattr(torch.ones(2), name)()
        assert str(mine.dtype) == str(theirs.dtype).removeprefix("torch.")
    assert (cr.short, cr.int8, cr.int16) == (cr.int16, cr.int8, cr.int16)
    cr.manual_seed(0)
    draws = cr.zeros(2000).random_(3, 7)
    assert set(draws.tolist()) == {3.0, 4.0, 5.0, 6.0}
    assert 0 <= cr.zeros(100, dtype=cr.int64).random_(5).max().item() <= 4
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        cr.zeros(2).random_(5, 5)


def test_tensor_conveniences_match_pytorch() -> None:
    a, b = np.arange(24.0).reshape(2, 3, 4), np.ones((4, 6), dtype=np.int32)
    for lib in (cr, torch):
        x, y = lib.tensor(a), lib.tensor(b)
        got = (str(x.type_as(y).dtype).removeprefix("torch."), tuple(x.reshape_as(y).shape),
               x.where(x > 5, -x).tolist(), x.stride(), x.stride(1), x.ndimension(),
               x.get_device())
        if lib is cr:
            mine = got
        else:
            assert mine == got
    x = cr.tensor(a)
    assert x.data_ptr() == x.numpy().__array_interface__["data"][0]
    assert x[1].data_ptr() == x.data_ptr() + 12 * 8
