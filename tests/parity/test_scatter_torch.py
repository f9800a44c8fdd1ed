"""scatter, scatter_reduce, index_add, index_put, masked_scatter against PyTorch: values and
gradients, duplicates and ties included (where PyTorch's result is deterministic)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from torch_compare import same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)
X, SRC = R.standard_normal((3, 4)), R.standard_normal((3, 3))
UNIQUE = np.array([[0, 2], [3, 1], [1, 0]])
DUPS = np.array([[0, 0, 3], [3, 1, 3], [2, 2, 2]])


def _both(make: Any) -> tuple[Any, Any]:
    """``make(lib, tensor)`` for chainrule and for torch."""
    return (lambda *a: make(cr, cr.tensor, *a), lambda *a: make(torch, torch.tensor, *a))


@pytest.mark.parametrize("make", [
    lambda L, T, x, s: L.scatter(x, 1, T(UNIQUE), s[:, :2]),
    lambda L, T, x, s: x.scatter(0, T([[2, 0, 1]]), s[:1]),
    lambda L, T, x, s: x.scatter(1, T(UNIQUE), value=-1.5) * s.sum(),
    lambda L, T, x, s: x.scatter_add(1, T(DUPS), s),
    lambda L, T, x, s: L.index_add(x, 1, T([0, 3, 0]), s, alpha=-0.5),
    lambda L, T, x, s: L.index_add(x, 0, T([2, 2]), s[:2].repeat(1, 2)[:, :4]),
    lambda L, T, x, s: x.index_put((T([0, 2, 0]), T([1, 1, 1])), s[0], accumulate=True),
    lambda L, T, x, s: x.index_put((T([0, 2]),), s[0, :1]),
    lambda L, T, x, s: x.index_put((T([[0], [2]]), T([1, 3])), s[:2, :2]),
    lambda L, T, x, s: x.masked_scatter(T(X > 0), s),
    lambda L, T, x, s: x.masked_scatter(T([True, False, True, False]), s),
], ids=["scatter", "scatter-dim0", "scatter-value", "scatter_add", "index_add",
        "index_add-dup", "index_put-acc", "index_put", "index_put-broadcast", "masked_scatter",
        "masked_scatter-broadcast"])
def test_matches_torch(make: Any) -> None:
    same_as_torch(*_both(make), X, SRC)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_torch(reduce: str, include_self: bool) -> None:
    x = np.round(X, 1) + 0.05  # ties between self and src values and among src values
    s = np.round(SRC, 1) + 0.05
    s[0, 1] = s[0, 0]
    x[1, 3] = s[1, 0]
    same_as_torch(*_both(lambda L, T, a, b: a.scatter_reduce(1, T(DUPS), b, reduce,
                                                             include_self=include_self)), x, s)


@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_values_match_torch(reduce: str) -> None:
    """PyTorch has no derivative for this deprecated form; chainrule gives scatter_reduce's."""
    ours = cr.tensor(X).scatter(1, cr.tensor(DUPS), cr.tensor(SRC), reduce=reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # deprecated in favour of scatter_reduce
        theirs = torch.tensor(X).scatter(1, torch.tensor(DUPS), torch.tensor(SRC), reduce=reduce)
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-12)


def test_in_place_chain_matches_torch() -> None:
    def run(L: Any, T: Any, x: Any, s: Any) -> Any:
        y = x * 1
        y.scatter_(1, T(UNIQUE), s[:, :2]).index_add_(0, T([1, 1]), s[:2].repeat(1, 2)[:, :4])
        y.index_put_((T([2]), T([3])), s[2, 2], accumulate=True)
        return y.masked_scatter_(T(X > 0.5), s).scatter_reduce_(1, T(DUPS), s, "amax")
    same_as_torch(*_both(run), X, SRC)
