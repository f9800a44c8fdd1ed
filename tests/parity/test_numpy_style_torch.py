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
