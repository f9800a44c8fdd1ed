"""PyTorch parity for the inverse trigonometric and hyperbolic ops, atan2, hypot, fmod,
remainder and isclose: values and gradients inside the domains, then nan/inf at and beyond the
domain edges (``asin(2)`` is nan, the slope of ``asin`` at 1 is inf)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from test_ops_torch import both, helper_test_op

import chainrule as cr
from ulp import assert_ulp_close

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("name", ["asin", "acos", "arcsin", "arccos"])
def test_inverse_sine_cosine_inside_the_domain(name: str) -> None:
    helper_test_op([(3, 4)], both(name), low=-0.95, high=0.95)


@pytest.mark.parametrize("f", [
    lambda a, b: a.atan2(b), lambda a, b: a.arctan2(b), lambda a, b: a.hypot(b),
    lambda a, b: a.fmod(b), lambda a, b: a.remainder(b), lambda a, b: a % b,
    lambda a, b: b.fmod(a), lambda a, b: b.remainder(a),
], ids=["atan2", "arctan2", "hypot", "fmod", "remainder", "mod-operator", "fmod-flipped",
        "remainder-flipped"])
def test_binary_broadcast(f: Callable[..., Any]) -> None:
    helper_test_op([(2, 1, 4), (3, 1)], f, low=-3.0, high=3.0)


@pytest.mark.parametrize("f, ft", [
    (lambda x: x.atan2(0.5), lambda x: x.atan2(torch.tensor(0.5, dtype=x.dtype))),
    (lambda x: x.fmod(0.7), None), (lambda x: x.fmod(-0.7), None),
    (lambda x: x.remainder(-0.7), None), (lambda x: x.hypot(x * 2), None),
], ids=["atan2-scalar", "fmod-scalar", "fmod-negative-scalar", "remainder-negative-scalar",
        "hypot-same-input"])
def test_scalar_operands(f: Callable[..., Any], ft: Callable[..., Any] | None) -> None:
    """A Python number as the second operand (torch.atan2 wants a tensor there)."""
    helper_test_op([(6,)], f, ft, low=-3.0, high=3.0)


def test_module_functions_match_torch() -> None:
    names = ["asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "arcsin", "arccos",
             "arctan"]
    x = np.linspace(0.05, 0.95, 7)
    for name in names:
        np.testing.assert_allclose(getattr(cr, name)(cr.tensor(x)).array,
                                   getattr(torch, name)(torch.tensor(x)).numpy(), rtol=1e-12)
    for name in ["atan2", "arctan2", "hypot", "fmod", "remainder"]:
        got = getattr(cr, name)(cr.tensor(x), cr.tensor(x[::-1] - 0.5))
        want = getattr(torch, name)(torch.tensor(x), torch.tensor(x[::-1] - 0.5))
        np.testing.assert_allclose(got.array, want.numpy(), rtol=1e-12)


def _values_and_grads(lib: Any, f: Callable[..., Any], *arrays: list[float]) -> list[np.ndarray]:
    xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = f(*xs)
    out.sum().backward()
    as_np = (lambda t: t.detach().numpy()) if lib is torch else (lambda t: t.array)
    return [as_np(out), *[as_np(x.grad) for x in xs]]


@pytest.mark.parametrize("f, arrays", [
    (lambda x: x.asin(), [[-2.0, -1.0, 1.0, 2.0, 0.0]]),
    (lambda x: x.acos(), [[-2.0, -1.0, 1.0, 2.0, 0.0]]),
    (lambda x: x.atan(), [[-INF, INF, NAN, 1e300]]),
    (lambda x: x.sinh(), [[-INF, INF, NAN, 800.0]]),
    (lambda x: x.cosh(), [[-INF, INF, NAN, -800.0]]),
    (lambda x: x.log2(), [[0.0, -1.0, INF, 8.0, 0.5]]),
    (lambda x: x.log10(), [[0.0, -1.0, INF, 1000.0, 1e-3]]),
    (lambda a, b: a.atan2(b), [[0.0, 0.0, -0.0, 1.0, INF, INF, NAN],
                               [0.0, -0.0, -1.0, 0.0, INF, -INF, 1.0]]),
    (lambda a, b: a.hypot(b), [[0.0, INF, 3.0, NAN], [0.0, 1.0, 4.0, 1.0]]),
    (lambda a, b: a.fmod(b), [[5.0, -5.0, INF, 5.0, -0.0], [0.0, 3.0, 2.0, INF, 3.0]]),
    (lambda a, b: a.remainder(b), [[5.0, -5.0, INF, 5.0, 0.0], [0.0, 3.0, 2.0, INF, -3.0]]),
], ids=["asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "atan2", "hypot", "fmod",
        "remainder"])
def test_domain_edges_match_torch(f: Callable[..., Any], arrays: list[list[float]]) -> None:
    """Values and gradients with nan and ±inf where torch has them (hypot(inf, nan), inf in C,
    is nan here: hypot is a composite)."""
    got = _values_and_grads(cr, f, *arrays)
    want = _values_and_grads(torch, f, *arrays)
    for i, (g, w) in enumerate(zip(got, want)):
        np.testing.assert_allclose(g, w, rtol=1e-14, atol=0,
                                   err_msg=f"{'output' if i == 0 else f'grad {i}'}")


def test_asin_of_two_is_nan_and_silent() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = cr.tensor([2.0, 1.0], requires_grad=True)
        y = cr.asin(x)
        y.sum().backward()
    assert math.isnan(y[0].item()) and y[1].item() == pytest.approx(math.pi / 2)
    assert math.isnan(x.grad[0].item()) and x.grad[1].item() == INF


def test_fmod_takes_the_sign_of_the_dividend() -> None:
    a, b = [5, -5, 5, -5], [3, 3, -3, -3]
    assert cr.fmod(cr.tensor(a), cr.tensor(b)).tolist() == [2, -2, 2, -2]
    assert cr.remainder(cr.tensor(a), cr.tensor(b)).tolist() == [2, 1, -1, -2]
    for lib_a, lib_b in [(a, b), ([5.5, -5.5], [2.0, 2.0])]:
        got = cr.fmod(cr.tensor(lib_a), cr.tensor(lib_b))
        want = torch.fmod(torch.tensor(lib_a), torch.tensor(lib_b))
        assert got.tolist() == want.tolist() and str(got.dtype) == str(want.dtype)[6:]


def test_log2_log10_exact_at_powers_of_the_base() -> None:
    assert cr.log2(cr.tensor([1.0, 8.0, 1024.0])).tolist() == [0.0, 3.0, 10.0]
    assert cr.log10(cr.tensor([1.0, 1000.0, 1e-5], dtype=cr.float64)).tolist() == [0.0, 3.0, -5.0]


@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.1},
                                {"rtol": 0.2, "atol": 0.0}])
def test_isclose_matches_torch(kw: dict[str, Any]) -> None:
    a = [1.0, 1.0 + 1e-6, 1.05, NAN, NAN, INF, INF, -INF, 0.0, 1e-9]
    b = [1.0, 1.0, 1.0, NAN, 1.0, INF, -INF, -INF, 1e-9, 0.0]
    got = cr.isclose(cr.tensor(a, dtype=cr.float64), cr.tensor(b, dtype=cr.float64), **kw)
    want = torch.isclose(torch.tensor(a, dtype=torch.float64),
                         torch.tensor(b, dtype=torch.float64), **kw)
    assert got.dtype == cr.bool and got.tolist() == want.tolist()
    assert cr.tensor(a).isclose(cr.tensor(b), **kw).tolist() == torch.tensor(a).isclose(
        torch.tensor(b), **kw).tolist()


def test_isclose_broadcasts_and_refuses_negative_tolerances() -> None:
    got = cr.isclose(cr.tensor([[1.0], [2.0]]), cr.tensor([1.0, 2.0, 3.0]))
    want = torch.isclose(torch.tensor([[1.0], [2.0]]), torch.tensor([1.0, 2.0, 3.0]))
    assert got.shape == (2, 3) and got.tolist() == want.tolist()
    assert not cr.isclose(cr.tensor([1.0]), cr.tensor([1.0])).requires_grad
    with pytest.raises(ValueError, match="rtol must be >= 0, got -1"):
        cr.isclose(cr.tensor([1.0]), cr.tensor([1.0]), rtol=-1)
    with pytest.raises(RuntimeError, match=r"isclose: shapes \(2,\) and \(3,\)"):
        cr.isclose(cr.ones(2), cr.ones(3))
    assert cr.allclose(cr.tensor([NAN]), cr.tensor([NAN]), equal_nan=True)
    assert not cr.allclose(cr.tensor([NAN]), cr.tensor([NAN]))


def test_second_derivatives_match_torch() -> None:
    def second(lib: Any, x: Any, y: Any) -> list[Any]:
        f = (x.asin() * y.atan2(x) + x.sinh() * x.cosh() + x.acos() * x.atan()
             + x.hypot(y).log10())
        gx, gy = lib.autograd.grad(f.sum(), (x, y), create_graph=True)
        return list(lib.autograd.grad((gx * gx + gx * gy).sum(), (x, y)))

    a, b = np.linspace(-0.8, 0.8, 7), np.linspace(0.5, -1.5, 7)
    got = second(cr, *(cr.tensor(v, requires_grad=True, dtype=cr.float64) for v in (a, b)))
    want = second(torch, *(torch.tensor(v, requires_grad=True) for v in (a, b)))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.array, w.numpy(), rtol=1e-10)


def test_tensor_methods_exist() -> None:
    x = cr.tensor([0.5])
    for name in ["asin", "acos", "atan", "sinh", "cosh", "log2", "log10", "arcsin", "arccos",
                 "arctan", "asinh", "atanh", "arcsinh", "arctanh"]:
        assert getattr(x, name)().item() == pytest.approx(getattr(torch.tensor([0.5]), name)()
                                                          .item())
    for name in ["atan2", "arctan2", "hypot", "fmod", "remainder", "isclose"]:
        got = getattr(x, name)(x).numpy()
        want = getattr(torch.tensor([0.5]), name)(torch.tensor([0.5])).numpy()
        # Two libraries' float32 kernels agree to a few ulps (SIMD paths differ by CPU).
        assert_ulp_close(got, want, ulps=4, err_msg=name)


_FLOAT_RESULT = ["exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
                 "erf", "sigmoid", "asin", "acos", "atan", "sinh", "cosh", "log2", "log10"]
_KEEP_DTYPE = ["abs", "neg", "sign", "floor", "ceil", "relu", "clone"]  # torch: not for bool


@pytest.mark.parametrize(("name", "dtype"), [(n, "int64") for n in _FLOAT_RESULT + _KEEP_DTYPE]
                         + [(n, "bool") for n in [*_FLOAT_RESULT, "clone"]])
def test_integer_inputs_give_pytorch_dtypes_and_values(name: str, dtype: str) -> None:
    data = [0, 1] if dtype == "bool" else [-1, 0, 1, 2]
    with np.errstate(all="ignore"):
        ours = getattr(cr, name)(cr.tensor(data, dtype=getattr(cr, dtype)))
    theirs = getattr(torch, name)(torch.tensor(data, dtype=getattr(torch, dtype)))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy().astype(np.float64),
                               theirs.numpy().astype(np.float64), rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", ["asinh", "acosh", "atanh"])
def test_inverse_hyperbolic_values_and_gradients(name: str) -> None:
    v = np.array([-0.7, 0.2, 0.9]) if name == "atanh" else np.array([1.1, 1.5, 3.0])
    x, t = cr.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    y, u = getattr(cr, name)(x), getattr(torch, name)(t)
    y.sum().backward()
    u.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), u.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)
