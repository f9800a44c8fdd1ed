"""nonzero, unique, bincount, searchsorted: int64 results equal to PyTorch's, no gradients,
errors that name the function."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from ulp import assert_ulp_close


def _ints(*shape: int, high: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, shape)


def _same(ours: Any, theirs: Any) -> None:
    """Equal values and dtypes (element by element for tuples)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert_ulp_close(ours.numpy(), theirs.numpy(), ulps=2)  # bincount's weighted float sums
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


@pytest.mark.parametrize("shape", [(6,), (3, 4), (2, 3, 2), (), (0, 3)])
@pytest.mark.parametrize("as_tuple", [False, True])
def test_nonzero_matches_torch(shape: tuple[int, ...], as_tuple: bool) -> None:
    torch = pytest.importorskip("torch")
    a = _ints(*shape, high=2).astype(np.float32)
    _same(cr.nonzero(cr.tensor(a), as_tuple=as_tuple),
          torch.nonzero(torch.tensor(a), as_tuple=as_tuple))
    _same(cr.tensor(a).nonzero(), torch.tensor(a).nonzero())


@pytest.mark.parametrize("shape", [(10,), (3, 4), ()])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique_matches_torch(shape: tuple[int, ...], inverse: bool, counts: bool) -> None:
    torch = pytest.importorskip("torch")
    for a in (_ints(*shape, high=5), _ints(*shape, high=5).astype(np.float32) / 2):
        _same(cr.unique(cr.tensor(a), return_inverse=inverse, return_counts=counts),
              torch.unique(torch.tensor(a), return_inverse=inverse, return_counts=counts))
    _same(cr.tensor(a).unique(sorted=True), torch.tensor(a).unique(sorted=True))


def test_unique_is_a_constant_and_dim_is_not_implemented() -> None:
    assert not cr.unique(cr.tensor([1.0, 1.0], requires_grad=True)).requires_grad
    with pytest.raises(NotImplementedError, match="unique: only dim=None"):
        cr.unique(cr.ones(2, 2), dim=0)


@pytest.mark.parametrize("minlength", [0, 3, 10])
@pytest.mark.parametrize("weights", [None, np.float32, np.float64, np.int64])
def test_bincount_matches_torch(minlength: int, weights: Any) -> None:
    torch = pytest.importorskip("torch")
    a = _ints(7, high=5)
    w = None if weights is None else (_ints(7, seed=1) * 1.5).astype(weights)
    _same(cr.bincount(cr.tensor(a), None if w is None else cr.tensor(w), minlength),
          torch.bincount(torch.tensor(a), None if w is None else torch.tensor(w), minlength))
    _same(cr.tensor(a).bincount(minlength=minlength),
          torch.tensor(a).bincount(minlength=minlength))
    _same(cr.bincount(cr.tensor(a[:0]), minlength=minlength),
          torch.bincount(torch.tensor(a[:0]), minlength=minlength))


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("seq_shape,val_shape", [((6,), (4,)), ((6,), (2, 3)), ((6,), ()),
                                                 ((2, 6), (2, 3)), ((2, 3, 5), (2, 3, 4))])
def test_searchsorted_matches_torch(right: bool, seq_shape: tuple[int, ...],
                                    val_shape: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    seq = np.sort(_ints(*seq_shape, high=8), axis=-1).astype(np.float64)
    vals = _ints(*val_shape, high=9, seed=2).astype(np.float64)
    _same(cr.searchsorted(cr.tensor(seq), cr.tensor(vals), right=right),
          torch.searchsorted(torch.tensor(seq), torch.tensor(vals), right=right))
    side = "right" if right else "left"
    _same(cr.searchsorted(cr.tensor(seq), cr.tensor(vals), side=side),
          torch.searchsorted(torch.tensor(seq), torch.tensor(vals), side=side))


def test_searchsorted_scalar_value_and_sorter() -> None:
    torch = pytest.importorskip("torch")
    seq = np.array([5, 1, 3])
    order = np.argsort(seq)
    _same(cr.searchsorted(cr.tensor(seq), 3, sorter=cr.tensor(order)),
          torch.searchsorted(torch.tensor(seq), 3, sorter=torch.tensor(order)))


def test_errors_name_the_function() -> None:
    with pytest.raises(RuntimeError, match="bincount: expected a 1-D integer tensor"):
        cr.bincount(cr.tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="bincount: expected a 1-D integer tensor"):
        cr.bincount(cr.tensor([[1, 2]]))
    with pytest.raises(RuntimeError, match="bincount: input must be non-negative"):
        cr.bincount(cr.tensor([1, -2]))
    with pytest.raises(RuntimeError, match="bincount: weights of shape"):
        cr.bincount(cr.tensor([1, 2]), cr.ones(3))
    with pytest.raises(RuntimeError, match="searchsorted: leading dims"):
        cr.searchsorted(cr.zeros(2, 4), cr.zeros(3, 4))
    with pytest.raises(RuntimeError, match="searchsorted: side"):
        cr.searchsorted(cr.zeros(4), cr.zeros(2), right=True, side="left")
