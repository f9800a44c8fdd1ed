"""diag, diagonal, trace, addmm, baddbmm, cdist, meshgrid, repeat_interleave: values and
gradients as PyTorch gives them, float64 finite differences, errors that name the function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck


def _r(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _parity(ours: Callable[..., Any], theirs: Callable[..., Any], *arrays: np.ndarray,
            grad: bool = True) -> None:
    """Same values and (for a random upstream gradient) the same input gradients as torch."""
    torch = pytest.importorskip("torch")
    xs = [cr.tensor(a, requires_grad=grad) for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad) for a in arrays]
    out, ref = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert out.shape == tuple(ref.shape)
    if not grad:
        return
    g = _r(*ref.shape, seed=7)
    (out * cr.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for x, t in zip(xs, ts):  # no .grad (an unused input, e.g. beta=0) counts as a zero grad
        ours_g = np.zeros(x.shape) if x.grad is None else x.grad.numpy()
        theirs_g = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(ours_g, theirs_g, rtol=1e-9, atol=1e-12)


def _gradcheck(fn: Callable[..., Any], *arrays: np.ndarray) -> None:
    assert gradcheck(fn, tuple(cr.tensor(a, requires_grad=True) for a in arrays))


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 2)])
@pytest.mark.parametrize("offset", [0, 1, -2, 7])
def test_diagonal_diag_trace_match_torch(shape: tuple[int, int], offset: int) -> None:
    torch = pytest.importorskip("torch")
    a = _r(*shape)
    _parity(lambda x: cr.diagonal(x, offset), lambda t: torch.diagonal(t, offset), a)
    _parity(lambda x: x.diag(offset), lambda t: t.diag(offset), a)
    _parity(lambda x: cr.diag(x, offset), lambda t: torch.diag(t, offset), a[0])
    _parity(lambda x: x.trace(), lambda t: t.trace(), a)


@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (0, 2), (-1, 1), (2, 3)])
def test_diagonal_of_batched_dims_matches_torch(dims: tuple[int, int]) -> None:
    _parity(lambda x: x.diagonal(1, *dims), lambda t: t.diagonal(1, *dims), _r(2, 3, 4, 3))


def test_matrix_fns_gradcheck() -> None:
    _gradcheck(lambda x: cr.diagonal(x, -1), _r(4, 3))
    _gradcheck(lambda x: cr.diag(x, 2), _r(3))
    _gradcheck(cr.trace, _r(3, 3))
    _gradcheck(lambda i, a, b: cr.addmm(i, a, b, beta=0.5, alpha=-2.0), _r(3), _r(2, 4),
               _r(4, 3))
    _gradcheck(lambda i, a, b: cr.baddbmm(i, a, b, alpha=3.0), _r(2, 1, 3), _r(2, 2, 4),
               _r(2, 4, 3))
    for p in (1.0, 2.0, 3.0, float("inf")):
        _gradcheck(lambda a, b, p=p: cr.cdist(a, b, p), _r(2, 3, 4), _r(2, 5, 4, seed=1))


@pytest.mark.parametrize("in_shape", [(2, 3), (3,), (1, 3), (2, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, -1.0)])
def test_addmm_matches_torch(in_shape: tuple[int, ...], beta: float, alpha: float) -> None:
    torch = pytest.importorskip("torch")
    _parity(lambda i, a, b: cr.addmm(i, a, b, beta=beta, alpha=alpha),
            lambda i, a, b: torch.addmm(i, a, b, beta=beta, alpha=alpha),
            _r(*in_shape), _r(2, 4, seed=1), _r(4, 3, seed=2))
    _parity(lambda i, a, b: i.addmm(a, b, beta=beta, alpha=alpha),
            lambda i, a, b: i.addmm(a, b, beta=beta, alpha=alpha),
            _r(*in_shape), _r(2, 4, seed=1), _r(4, 3, seed=2))


def test_addmm_beta_zero_ignores_nan_input() -> None:
    out = cr.addmm(cr.tensor([float("nan")]), cr.eye(2), cr.eye(2), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.eye(2))


@pytest.mark.parametrize("in_shape", [(3, 2, 5), (2, 5), (3, 1, 1), ()])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (-0.5, 2.0)])
def test_baddbmm_matches_torch(in_shape: tuple[int, ...], beta: float, alpha: float) -> None:
    torch = pytest.importorskip("torch")
    _parity(lambda i, a, b: i.baddbmm(a, b, beta=beta, alpha=alpha),
            lambda i, a, b: torch.baddbmm(i, a, b, beta=beta, alpha=alpha),
            _r(*in_shape), _r(3, 2, 4, seed=1), _r(3, 4, 5, seed=2))


@pytest.mark.parametrize("shapes", [((5, 3), (4, 3)), ((2, 5, 3), (2, 4, 3)),
                                    ((2, 1, 3, 4), (5, 2, 4)), ((1, 6), (30, 6))])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf"), 0.0])
def test_cdist_matches_torch(shapes: tuple[tuple[int, ...], ...], p: float) -> None:
    torch = pytest.importorskip("torch")
    a, b = _r(*shapes[0]), _r(*shapes[1], seed=1)
    _parity(lambda x, y: cr.cdist(x, y, p), lambda x, y: torch.cdist(x, y, p), a, b,
            grad=p != 0.0)


def test_cdist_gradient_is_finite_for_coincident_points() -> None:
    torch = pytest.importorskip("torch")
    a = np.array([[0.0, 0.0], [1.0, 1.0]])
    _parity(lambda x: cr.cdist(x, x), lambda t: torch.cdist(t, t), a)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [(3,), (2, 3), (2, 3, 4), (0, 2)])
def test_meshgrid_matches_torch(indexing: str, sizes: tuple[int, ...]) -> None:
    torch = pytest.importorskip("torch")
    arrays = [_r(n, seed=i) for i, n in enumerate(sizes)]
    ours = cr.meshgrid(*[cr.tensor(a, requires_grad=True) for a in arrays], indexing=indexing)
    theirs = torch.meshgrid(*[torch.tensor(a) for a in arrays], indexing=indexing)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.detach().numpy(), t.numpy())
    listed = cr.meshgrid([cr.tensor(a) for a in arrays], indexing=indexing)
    assert [x.shape for x in listed] == [tuple(t.shape) for t in theirs]
    for k in range(len(sizes)):
        _parity(lambda *xs, k=k: cr.meshgrid(*xs, indexing=indexing)[k],
                lambda *ts, k=k: torch.meshgrid(*ts, indexing=indexing)[k], *arrays)


@pytest.mark.parametrize("repeats", [2, [1, 0, 3], [2]])
@pytest.mark.parametrize("dim", [None, 0, -1])
def test_repeat_interleave_matches_torch(repeats: Any, dim: int | None) -> None:
    torch = pytest.importorskip("torch")
    a = _r(3, 3)
    rep = repeats if isinstance(repeats, int) else np.array(repeats)
    if dim is None and isinstance(repeats, list) and len(repeats) == 3:
        a = _r(3)
    ours_r = rep if isinstance(rep, int) else cr.tensor(rep)
    theirs_r = rep if isinstance(rep, int) else torch.tensor(rep)
    _parity(lambda x: x.repeat_interleave(ours_r, dim),
            lambda t: t.repeat_interleave(theirs_r, dim), a)
    _gradcheck(lambda x: cr.repeat_interleave(x, ours_r, dim), a)


def test_repeat_interleave_of_counts_alone() -> None:
    out = cr.repeat_interleave(cr.tensor([1, 0, 2]))
    assert out.tolist() == [0, 2, 2] and out.dtype == cr.int64


def test_errors_name_the_function() -> None:
    with pytest.raises(RuntimeError, match=r"addmm: .*\(2, 4\) and \(5, 3\)"):
        cr.addmm(cr.zeros(2, 3), cr.zeros(2, 4), cr.zeros(5, 3))
    with pytest.raises(RuntimeError, match=r"addmm: input of shape \(4,\)"):
        cr.addmm(cr.zeros(4), cr.zeros(2, 4), cr.zeros(4, 3))
    with pytest.raises(RuntimeError, match="baddbmm"):
        cr.baddbmm(cr.zeros(2, 2, 2), cr.zeros(2, 2, 3), cr.zeros(3, 3, 2))
    with pytest.raises(RuntimeError, match="cdist"):
        cr.cdist(cr.zeros(3, 2), cr.zeros(4, 3))
    with pytest.raises(RuntimeError, match="cdist: batch dims"):
        cr.cdist(cr.zeros(2, 3, 2), cr.zeros(3, 4, 2))
    with pytest.raises(ValueError, match="cdist: p must be"):
        cr.cdist(cr.zeros(3, 2), cr.zeros(4, 2), p=-1)
    with pytest.raises(RuntimeError, match="diag: expected a 1-D or 2-D"):
        cr.diag(cr.zeros(2, 2, 2))
    with pytest.raises(RuntimeError, match="diagonal: dims 1 and -1"):
        cr.diagonal(cr.zeros(2, 2), 0, 1, -1)
    with pytest.raises(RuntimeError, match="trace: expected a 2-D"):
        cr.trace(cr.zeros(3))
    with pytest.raises(ValueError, match="meshgrid: indexing"):
        cr.meshgrid(cr.zeros(2), indexing="ji")
    with pytest.raises(RuntimeError, match="meshgrid: expected 0-D or 1-D"):
        cr.meshgrid(cr.zeros(2, 2))
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats has 2 entries"):
        cr.repeat_interleave(cr.zeros(3), cr.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="repeat_interleave: repeats must be non-negative"):
        cr.repeat_interleave(cr.zeros(2), cr.tensor([1, -1]))
