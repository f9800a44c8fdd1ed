"""In-place forms (``Tensor.exp_()``, ``F.relu(x, inplace=True)``) and the pointwise functions
hand-written PyTorch code reaches for (``addcmul``, ``lerp``, ``clamp_min``, ``div`` with a
rounding mode, ...) against PyTorch: same values, same returned object, same gradients."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)  # in every op's domain (logit, sqrt, ...)
Y = RNG.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
Z = RNG.uniform(0.5, 2.0, (4,)).astype(np.float32)


def _both(fn: Callable[[Any, Any, Any, Any], Any]) -> tuple[Any, Any]:
    outs = []
    for lib in (cr, torch):
        a, b, c = (lib.tensor(v.copy()) for v in (X, Y, Z))
        outs.append(fn(lib, a, b, c))
    return outs[0], outs[1]


UNARY = ["abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2",
         "log10", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "sin", "cos", "tan", "asin",
         "acos", "atan", "sinh", "cosh", "floor", "ceil", "round", "trunc", "fix", "frac",
         "sign", "sgn", "reciprocal", "square", "erf", "erfc", "logit", "deg2rad", "rad2deg",
         "nan_to_num"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_in_place_method_writes_into_the_tensor_and_returns_it(name: str) -> None:
    def run(lib: Any, a: Any, b: Any, c: Any) -> Any:
        out = getattr(a, f"{name}_")()
        assert out is a
        return a.numpy()

    mine, theirs = _both(run)
    np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)
    mine, theirs = _both(lambda lib, a, b, c: getattr(lib, name)(a).numpy())
    np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


BINARY = {
    "pow": lambda t, a, b, c: t.pow_(b) if t is not None else a.pow(b),
    "clamp_min": lambda t, a, b, c: t.clamp_min_(0.4) if t is not None else a.clamp_min(0.4),
    "clamp_max": lambda t, a, b, c: t.clamp_max_(c) if t is not None else a.clamp_max(c),
    "clip": lambda t, a, b, c: t.clip_(0.2, 0.7) if t is not None else a.clip(0.2, 0.7),
    "addcmul": lambda t, a, b, c: (t.addcmul_(b, c, value=-0.5) if t is not None
                                   else a.addcmul(b, c, value=-0.5)),
    "addcdiv": lambda t, a, b, c: (t.addcdiv_(b, c, value=2) if t is not None
                                   else a.addcdiv(b, c, value=2)),
    "lerp": lambda t, a, b, c: t.lerp_(b, 0.3) if t is not None else a.lerp(b, c),
    "xlogy": lambda t, a, b, c: t.xlogy_(b) if t is not None else a.xlogy(b),
    "remainder": lambda t, a, b, c: t.remainder_(0.3) if t is not None else a.remainder(c),
    "fmod": lambda t, a, b, c: t.fmod_(c) if t is not None else a.fmod(0.3),
    "multiply": lambda t, a, b, c: t.multiply_(b) if t is not None else a.multiply(c),
    "subtract": lambda t, a, b, c: (t.subtract_(b, alpha=2) if t is not None
                                    else a.subtract(c, alpha=2)),
    "divide": lambda t, a, b, c: t.divide_(c) if t is not None else a.divide(b),
    "true_divide": lambda t, a, b, c: t.true_divide_(b) if t is not None else a.true_divide(c),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_in_place_and_out_of_place_forms(name: str) -> None:
    fn = BINARY[name]

    def in_place(lib: Any, a: Any, b: Any, c: Any) -> Any:
        assert fn(a, a, b, c) is a
        return a.numpy()

    for run in (in_place, lambda lib, a, b, c: fn(None, a, b, c).numpy()):
        mine, theirs = _both(run)
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


def test_in_place_gradients_and_errors_as_in_pytorch() -> None:
    def run(lib: Any, a: Any, b: Any, c: Any) -> list[Any]:
        a.requires_grad_(True)
        h = a * 2
        assert h.addcmul_(b, c, value=0.5).lerp_(b, 0.25).exp_() is h
        h.square().sum().backward()
        return [h.detach().numpy(), a.grad.numpy()]

    for m, t in zip(*_both(run)):
        np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-6)
    leaf = cr.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.exp_()
    with pytest.raises(RuntimeError, match="sqrt_: result type float32 can't be cast to the "
                                           "desired output type int64"):
        cr.arange(3).sqrt_()


@pytest.mark.parametrize("mode", ["trunc", "floor"])
@pytest.mark.parametrize("kind", ["int", "float"])
def test_div_rounding_modes(mode: str, kind: str) -> None:
    a = np.array([-7, 7, -8, 8, -1, 0], np.int64)
    b = np.array([2, -2, 3, 3, 5, 4], np.int64)
    if kind == "float":
        a, b = a.astype(np.float32) + 0.5, b.astype(np.float32)
    mine = cr.div(cr.tensor(a), cr.tensor(b), rounding_mode=mode)
    theirs = torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode)
    assert str(mine.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match="rounding_mode"):
        cr.div(cr.tensor(a), 2, rounding_mode="ceil")


def test_special_values_of_the_new_functions() -> None:
    v = np.array([-math.inf, -1.5, -0.0, 0.0, 0.5, math.inf, math.nan], np.float32)
    for name in ("trunc", "frac", "exp2", "erfc", "nan_to_num", "sign", "sgn"):
        with np.errstate(invalid="ignore"):  # frac(±inf) is inf − inf: NaN, as in PyTorch
            mine = getattr(cr, name)(cr.tensor(v)).numpy()
        theirs = getattr(torch, name)(torch.tensor(v)).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, err_msg=name)
    x = np.array([0.0, 0.0, 2.0, 0.0], np.float32)
    y = np.array([0.0, math.nan, 3.0, math.inf], np.float32)
    np.testing.assert_allclose(cr.xlogy(cr.tensor(x), cr.tensor(y)).numpy(),
                               torch.xlogy(torch.tensor(x), torch.tensor(y)).numpy())
    kw = {"nan": 1.0, "posinf": 2.0, "neginf": -2.0}
    np.testing.assert_array_equal(cr.nan_to_num(cr.tensor(v), **kw).numpy(),
                                  torch.nan_to_num(torch.tensor(v), **kw).numpy())


ACTIVATIONS = [("relu", ()), ("leaky_relu", (0.2,)), ("elu", (0.7,)), ("silu", ()),
               ("relu6", ()), ("hardtanh", (-0.5, 0.5)), ("mish", ()), ("selu", ()),
               ("celu", (0.5,)), ("hardsigmoid", ()), ("hardswish", ()),
               ("threshold", (0.5, -1.0))]


@pytest.mark.parametrize(("name", "args"), ACTIVATIONS, ids=[a for a, _ in ACTIVATIONS])
def test_inplace_flag_writes_into_the_input(name: str, args: tuple[Any, ...]) -> None:
    def run(lib: Any, a: Any, b: Any, c: Any) -> list[Any]:
        functional = lib.nn.functional
        a.requires_grad_(True)
        h = (a - 0.5) * 4
        out = getattr(functional, name)(h, *args, inplace=True)
        assert out is h
        h.sum().backward()
        return [h.detach().numpy(), a.grad.numpy()]

    for m, t in zip(*_both(run)):
        np.testing.assert_allclose(m, t, rtol=1e-5, atol=1e-6)


def test_inplace_modules_and_the_underscore_functions() -> None:
    for lib in (cr, torch):
        nn, functional = lib.nn, lib.nn.functional
        x = lib.tensor([-1.0, 2.0])
        assert nn.ReLU(inplace=True)(x) is x and x.tolist() == [0.0, 2.0]
        x = lib.tensor([-1.0, 2.0])
        assert functional.relu_(x) is x and x.tolist() == [0.0, 2.0]
        x = lib.tensor([-1.0, 2.0])
        assert functional.hardtanh_(x) is x and x.tolist() == [-1.0, 1.0]
        x = lib.tensor([-1.0, 2.0])
        assert functional.threshold_(x, 0.0, 5.0) is x and x.tolist() == [5.0, 2.0]
        x = lib.ones(1000)
        drop = nn.Dropout(0.5, inplace=True)
        assert drop(x) is x and set(x.tolist()) <= {0.0, 2.0}
    y = F.leaky_relu(cr.tensor([-1.0, 1.0]), 0.5, True)
    assert y.tolist() == [-0.5, 1.0]
