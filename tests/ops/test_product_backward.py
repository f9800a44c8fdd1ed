"""Linear's and matmul's first-order backward, computed on arrays, equals their backward
through ops (the one ``create_graph`` records), for 1-D, 2-D, batched and broadcast operands,
with and without a bias, and runs no ops of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.linalg import Matmul

CASES: dict[str, tuple[Callable[..., cr.Tensor], list[tuple[int, ...]]]] = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [(4, 3), (5, 3), (5,)]),
    "linear-no-bias": (lambda x, w: F.linear(x, w), [(2, 4, 3), (5, 3)]),
    "linear-1d": (lambda x, w, b: F.linear(x, w, b), [(3,), (5, 3), (5,)]),
    "matmul": (lambda a, b: a @ b, [(4, 3), (3, 6)]),
    "matmul-batched": (lambda a, b: a @ b, [(2, 4, 3), (2, 3, 6)]),
    "matmul-broadcast": (lambda a, b: a @ b, [(2, 1, 4, 3), (5, 3, 6)]),
    "matmul-vector": (lambda a, b: a @ b, [(3,), (2, 3, 6)]),
}


def _grads(fn: Callable[..., cr.Tensor], xs: list[cr.Tensor], g: np.ndarray,
           create_graph: bool) -> list[np.ndarray]:
    out = fn(*xs)
    return [t.detach().numpy().copy() for t in cr.autograd.grad(out, xs, cr.tensor(g),
                                                       create_graph=create_graph)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(CASES))
def test_array_backward_equals_the_recorded_one(case: str, dtype: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fn, shapes = CASES[case]
    rng = np.random.default_rng(0)
    xs = [cr.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    g = rng.standard_normal(tuple(fn(*xs).shape)).astype(dtype)
    recorded = _grads(fn, xs, g, create_graph=True)
    out = fn(*xs)
    ops: list[Any] = []
    apply = Matmul.apply
    monkeypatch.setattr(Matmul, "apply", classmethod(
        lambda cls, *a, **k: ops.append(a) or apply(*a, **k)))
    first = [t.detach().numpy().copy() for t in cr.autograd.grad(out, xs, cr.tensor(g))]
    assert ops == []  # no Matmul ran as an op in the first-order backward
    for a, b in zip(first, recorded):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-14,
                                   atol=1e-6 if dtype == np.float32 else 1e-14)
