"""Every registered op's forward-mode rule, checked from the registry (``autograd.OPS``):

- against reverse mode: ⟨v, J·u⟩ = ⟨Jᵀ·v, u⟩ for random u, v (float64, 1e-8 relative);
- against central finite differences of the op;
- second order: forward-over-forward and forward-over-reverse against finite differences of
  the first-order rule (what ``jacfwd(jacfwd(f))`` and ``hessian`` rely on).

An op registered without a spec in ``op_specs.py`` fails here, as does a differentiable op with
no tangent rule.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.ops
from chainrule.autograd import OPS, Op, tangents
from chainrule.func import jvp, vjp
from chainrule.tensor import Tensor

from .op_specs import SPECS

EPS = 1e-6
FD_RTOL = {"erf": 3e-5}
"""erf's forward is a polynomial approximation (error < 1.5e-7) whose slope differs from the
exact derivative, which its rule uses, by ~1e-6."""


for _mod in pkgutil.iter_modules(chainrule.ops.__path__):  # every op family registers its ops
    importlib.import_module(f"chainrule.ops.{_mod.name}")


def _setup(name: str, seed: int = 0) -> tuple[Any, tuple[Tensor, ...], np.random.Generator]:
    rng = np.random.default_rng(seed)
    arrays, call, diff = SPECS[name](rng)
    const = [Tensor(a) for a in arrays]
    op = OPS.get(name)

    def f(*xs: Tensor) -> Tensor:
        full = list(const)
        for i, x in zip(diff, xs):
            full[i] = x
        return call(*full) if callable(call) else op.apply(*full, **call)  # type: ignore

    primals = tuple(Tensor(arrays[i], dtype=np.float64) for i in diff)
    return f, primals, rng


def _rand_like(rng: np.random.Generator, xs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    return tuple(Tensor(rng.standard_normal(x.shape)) for x in xs)


def _shift(xs: tuple[Tensor, ...], us: tuple[Tensor, ...], h: float) -> tuple[Tensor, ...]:
    return tuple(Tensor(x.array + h * u.array) for x, u in zip(xs, us))


def _fd(g: Any, xs: tuple[Tensor, ...], us: tuple[Tensor, ...]) -> np.ndarray:
    """Central difference of ``g`` (returning an array) along ``us``."""
    return (g(_shift(xs, us, EPS)) - g(_shift(xs, us, -EPS))) / (2 * EPS)


@contextmanager
def _rules_run() -> Iterator[set[str]]:
    """The names of the ops whose tangent rule ran inside the block."""
    names: set[str] = set()
    original = tangents.propagate  # what ``Op.apply`` calls

    def spy(op: Any, inputs: Any, out: Any, result: Any) -> None:
        original(op, inputs, out, result)
        if result._tangents:
            names.add(op.name)

    tangents.propagate = spy
    try:
        yield names
    finally:
        tangents.propagate = original


def _dot(a: Any, b: Any) -> float:
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


UNREGISTERED = {"lstm_sequence", "pack", "checkpoint"}
"""Fused primitives used by layers but not in the registry; their rules are checked here too."""
COMPOSITES = set(SPECS) - set(OPS) - UNREGISTERED
"""Op table entries built from other ops (squeeze, tril, ...), with inputs from their entry."""
DIFFERENTIABLE = sorted({n for n, op in OPS.items() if op.differentiable} | UNREGISTERED
                        | COMPOSITES)


def test_every_op_has_a_spec() -> None:
    missing = sorted(set(OPS) - set(SPECS) - {n for n, op in OPS.items() if not op.differentiable})
    assert not missing, f"ops without a forward-mode spec in tests/func/op_specs.py: {missing}"


def _concrete_op_classes() -> set[type[Op]]:
    found, stack = set(), [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.name != "op":  # "op": an abstract family base (_Unary, _ConvBase, ...)
                found.add(sub)
    return found


def test_every_differentiable_op_class_defines_a_tangent_rule() -> None:
    """Registered or not (fused primitives such as lstm_sequence live outside the registry)."""
    missing = sorted(c.name for c in _concrete_op_classes() if c.differentiable
                     and c.jvp is Op.jvp)
    assert not missing, f"differentiable ops without a jvp rule: {missing}"
    unlisted = sorted(c.name for c in _concrete_op_classes() if c.differentiable
                      and c.name not in OPS and c.name not in UNREGISTERED | {"custom"})
    assert not unlisted, f"unregistered ops missing from UNREGISTERED (and op_specs): {unlisted}"


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_jvp_matches_vjp_and_finite_differences(name: str) -> None:
    if name not in SPECS:
        pytest.fail(f"{name}: no spec in tests/func/op_specs.py")
    f, xs, rng = _setup(name)
    us = _rand_like(rng, xs)
    with _rules_run() as ran:
        out, jv = jvp(f, xs, us)
    assert (ran if name in COMPOSITES else name in ran), (
        f"{name}: the spec did not run the op's tangent rule (ran: {ran})")
    assert out.shape == jv.shape and jv.dtype == out.dtype
    np.testing.assert_array_equal(out.array, f(*xs).array)
    assert not out._tangents or all(t not in cr.autograd.forward_ad.levels for t in out._tangents)
    v = Tensor(rng.standard_normal(out.shape))
    _, vjp_fn = vjp(f, *xs)
    vj = vjp_fn(v)
    lhs = _dot(v.array, jv.array)
    rhs = sum(_dot(g.array, u.array) for g, u in zip(vj, us))
    assert abs(lhs - rhs) <= 1e-8 * max(1.0, abs(lhs), abs(rhs)), (lhs, rhs)
    fd = _fd(lambda p: f(*p).array, xs, us)
    np.testing.assert_allclose(jv.array, fd, rtol=FD_RTOL.get(name, 1e-6), atol=1e-7)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_forward_over_forward(name: str) -> None:
    f, xs, rng = _setup(name, seed=1)
    us, ws = _rand_like(rng, xs), _rand_like(rng, xs)

    def tangent(p: tuple[Tensor, ...]) -> Tensor:
        return jvp(f, p, us)[1]

    _, second = jvp(lambda *p: tangent(p), xs, ws)
    np.testing.assert_allclose(second.array, _fd(lambda p: tangent(p).array, xs, ws),
                               rtol=FD_RTOL.get(name, 1e-5), atol=1e-6)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_forward_over_reverse(name: str) -> None:
    f, xs, rng = _setup(name, seed=2)
    ws = _rand_like(rng, xs)
    v = Tensor(rng.standard_normal(f(*xs).shape))

    def pullback(p: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        out, fn = vjp(f, *p)
        return fn(v * cr.tanh(out))  # a cotangent that varies with p, as inside a Hessian

    _, second = jvp(lambda *p: pullback(p), xs, ws)
    fd = _fd(lambda p: np.concatenate([g.array.ravel() for g in pullback(p)]), xs, ws)
    got = np.concatenate([g.array.ravel() for g in second])
    np.testing.assert_allclose(got, fd, rtol=FD_RTOL.get(name, 1e-5), atol=1e-6)


@pytest.mark.parametrize("name", sorted(n for n, op in OPS.items() if not op.differentiable))
def test_non_differentiable_ops_carry_no_tangent(name: str) -> None:
    a = Tensor(np.array([[0.5, -1.0], [2.0, 3.0]]))
    b = Tensor(np.array([[1.5, -1.0], [2.0, 0.5]]))
    op = OPS[name]
    nargs = op.forward.__code__.co_argcount - 1

    def f(x: Tensor) -> Tensor:
        if name == "logical_not":
            return op.apply(x > 0)
        if name.startswith("bitwise"):  # integer and bool operands only
            return op.apply(x > 0, b > 0)
        return op.apply(*(x, b)[:nargs])

    _, t = jvp(f, (a,), (Tensor(np.ones((2, 2))),))
    assert not t.array.any()
