"""Property-based: random programs over broadcastable shapes, forward mode against reverse mode
and finite differences (Hypothesis; profile from tests/conftest.py)."""

from __future__ import annotations

from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.func import jacfwd, jacrev, jvp, vjp
from chainrule.tensor import Tensor

STEPS: dict[str, Any] = {
    "sin": lambda h, a, b: cr.sin(h),
    "tanh": lambda h, a, b: cr.tanh(h),
    "sigmoid": lambda h, a, b: cr.sigmoid(h),
    "softplus": lambda h, a, b: cr.softplus(h),
    "square": lambda h, a, b: h * h,
    "mul_a": lambda h, a, b: h * a,
    "add_b": lambda h, a, b: h + b,
    "div": lambda h, a, b: h / (1 + b * b),
    "exp_neg": lambda h, a, b: cr.exp(-h * h),
    "softmax": lambda h, a, b: cr.softmax(h, -1) if h.ndim else h,
    "cumsum": lambda h, a, b: h.cumsum(-1) if h.ndim else h,
    "sum_keep": lambda h, a, b: h.sum(-1, keepdim=True) * h if h.ndim else h,
}

program = st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6)
shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def _run(steps: list[str], a: Tensor, b: Tensor) -> Tensor:
    h = a * b + a
    for s in steps:
        h = STEPS[s](h, a, b)
    return h


@given(steps=program, shapes=shapes, seed=st.integers(0, 2 ** 16))
def test_random_programs_jvp_vs_vjp_and_fd(steps: list[str], shapes: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = (Tensor(rng.standard_normal(s)) for s in shapes.input_shapes)
    ua, ub = (Tensor(rng.standard_normal(s)) for s in shapes.input_shapes)
    out, tangent = jvp(lambda a, b: _run(steps, a, b), (a, b), (ua, ub))
    v = rng.standard_normal(out.shape)
    _, vjp_fn = vjp(lambda a, b: _run(steps, a, b), a, b)
    ga, gb = vjp_fn(Tensor(v))
    lhs = float(np.sum(v * tangent.array))
    rhs = float(np.sum(ga.array * ua.array) + np.sum(gb.array * ub.array))
    assert abs(lhs - rhs) <= 1e-8 * max(1.0, abs(lhs), abs(rhs))
    eps = 1e-6
    hi = _run(steps, Tensor(a.array + eps * ua.array), Tensor(b.array + eps * ub.array)).array
    lo = _run(steps, Tensor(a.array - eps * ua.array), Tensor(b.array - eps * ub.array)).array
    np.testing.assert_allclose(tangent.array, (hi - lo) / (2 * eps), rtol=1e-5, atol=1e-6)


@given(steps=program, n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_random_programs_jacfwd_equals_jacrev(steps: list[str], n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = Tensor(rng.standard_normal(n)), Tensor(rng.standard_normal(n))
    f = lambda a: _run(steps, a, b)  # noqa: E731
    np.testing.assert_allclose(jacfwd(f)(a).array, jacrev(f)(a).array, rtol=1e-8, atol=1e-12)
