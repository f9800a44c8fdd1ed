"""cr.linalg solvers and decompositions against torch.linalg: values and gradients, batched.
Singular and eigen vectors are compared through what they determine (S, U diag(w) Vh, U∘U;
L, V∘V), since each library may pick other signs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from torch_compare import same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)
A = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
B = R.standard_normal((2, 3, 2))
TALL = R.standard_normal((2, 5, 3))
SPD = A @ np.swapaxes(A, -1, -2) + np.eye(3)


def _lib(x: Any) -> Any:
    return cr if isinstance(x, cr.Tensor) else torch


@pytest.mark.parametrize("f, arrays", [
    (lambda a: _lib(a).linalg.inv(a), [A]),
    (lambda a: _lib(a).inverse(a), [A]),
    (lambda a, b: _lib(a).linalg.solve(a, b), [A, B]),
    (lambda a, b: _lib(a).linalg.solve(a, b[..., 0]), [A, B]),
    (lambda a, b: _lib(a).linalg.solve(a, b.mT, left=False), [A, B]),
    (lambda a, b: _lib(a).linalg.solve(a[0], b), [A, B]),
    (lambda a: _lib(a).linalg.det(a), [A]),
    (lambda a: _lib(a).det(a[0]), [A]),
    (lambda a: _lib(a).linalg.slogdet(a - 3.5 * _lib(a).eye(3, dtype=a.dtype))[1], [A]),
    (lambda a: _lib(a).logdet(a), [A]),
    (lambda a: _lib(a).linalg.cholesky(a), [SPD]),
    (lambda a: _lib(a).linalg.cholesky(a, upper=True), [SPD]),
    (lambda a: tuple(_lib(a).linalg.qr(a)), [TALL]),
    (lambda a: tuple(_lib(a).linalg.qr(a)), [A]),
    (lambda a: tuple(_lib(a).linalg.qr(a, mode="complete")), [A]),
    (lambda a: tuple(_lib(a).linalg.qr(a)), [np.swapaxes(TALL, -1, -2)]),
    (lambda a: tuple(_lib(a).linalg.qr(a, mode="complete")), [np.swapaxes(TALL, -1, -2)]),
    (lambda a, b: _lib(a).linalg.lstsq(a, b).solution, [TALL, R.standard_normal((2, 5, 2))]),
    (lambda a, b: _lib(a).linalg.lstsq(a, b).solution, [np.swapaxes(TALL, -1, -2), B]),
    (lambda a, b: _lib(a).linalg.lstsq(a, b[..., 0]).solution, [A, B]),
    (lambda a: _lib(a).linalg.matrix_norm(a, "nuc"), [TALL]),
    (lambda a: _lib(a).linalg.matrix_norm(a, 2, keepdim=True), [TALL]),
    (lambda a: _lib(a).linalg.matrix_norm(a, -2, dim=(0, 2)), [TALL]),
    (lambda a: _lib(a).linalg.svdvals(a), [TALL]),
    (lambda a: _lib(a).linalg.eigvalsh(a), [SPD]),
], ids=["inv", "inverse", "solve", "solve-vector", "solve-right", "solve-broadcast", "det",
        "det-alias", "slogdet", "logdet", "cholesky", "cholesky-upper", "qr", "qr-square",
        "qr-complete", "qr-wide", "qr-wide-complete", "lstsq-tall", "lstsq-wide", "lstsq-vector",
        "nuc", "norm-2", "norm-minus-2", "svdvals", "eigvalsh"])
def test_matches_torch(f: Any, arrays: list[np.ndarray]) -> None:
    same_as_torch(f, f, *arrays)


def _svd_parts(full: bool) -> Any:
    def f(a: Any) -> Any:
        u, s, vh = _lib(a).linalg.svd(a, full_matrices=full)
        k = s.shape[-1]
        w = _lib(a).arange(1, k + 1, dtype=a.dtype)
        return s, (u[..., :k] * w) @ vh[..., :k, :], u[..., :k] * u[..., :k]
    return f


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", [(2, 5, 3), (3, 3), (2, 3, 5)])
def test_svd_matches_torch(full: bool, shape: tuple[int, ...]) -> None:
    same_as_torch(_svd_parts(full), _svd_parts(full), R.standard_normal(shape))


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(uplo: str) -> None:
    def f(a: Any) -> Any:
        w, v = _lib(a).linalg.eigh(a, UPLO=uplo)
        return w, v * v
    same_as_torch(f, f, R.standard_normal((2, 4, 4)))  # one triangle read: not symmetric


def test_lstsq_outputs_match_torch() -> None:
    b = R.standard_normal((2, 5, 2))
    for driver in [None, "gelsd", "gelss", "gels"]:
        ours = cr.linalg.lstsq(cr.tensor(TALL), cr.tensor(b), driver=driver)
        theirs = torch.linalg.lstsq(torch.tensor(TALL), torch.tensor(b), driver=driver)
        for o, t in zip(ours, theirs):
            assert tuple(o.shape) == tuple(t.shape), (driver, o.shape, t.shape)
            np.testing.assert_allclose(o.array, t.numpy(), rtol=1e-9, atol=1e-12)


def test_second_derivatives_match_torch() -> None:
    def f(lib: Any, a: Any) -> Any:
        loss = lib.linalg.slogdet(a)[1].sum() + lib.linalg.inv(a).sum() + lib.linalg.svdvals(
            a).sum()
        grad = (cr.autograd.grad if lib is cr else torch.autograd.grad)(loss, a,
                                                                        create_graph=True)[0]
        return (grad * grad).sum()
    x = cr.tensor(A, requires_grad=True)
    t = torch.tensor(A, requires_grad=True)
    gx = cr.autograd.grad(f(cr, x), x)[0]
    gt = torch.autograd.grad(f(torch, t), t)[0]
    np.testing.assert_allclose(gx.array, gt.numpy(), rtol=1e-7, atol=1e-9)


def test_slogdet_sign_and_qr_r_match_torch() -> None:
    a = A - 3.5 * np.eye(3)
    np.testing.assert_array_equal(cr.linalg.slogdet(cr.tensor(a)).sign.array,
                                  torch.linalg.slogdet(torch.tensor(a)).sign.numpy())
    q, r = cr.linalg.qr(cr.tensor(TALL, requires_grad=True), mode="r")
    tq, tr = torch.linalg.qr(torch.tensor(TALL), mode="r")
    assert q.shape == tuple(tq.shape) == (0,)
    np.testing.assert_allclose(np.abs(r.array), np.abs(tr.numpy()), rtol=1e-12)
    with pytest.raises(RuntimeError, match="depends on Q, which is not computed when mode='r'"):
        r.sum().backward()


@pytest.mark.parametrize("equation, shapes", [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("bii->bi", [(2, 3, 3)]), ("bii", [(2, 3, 3)]),
    ("iji->j", [(2, 4, 2)]), ("bij,bjj->bi", [(2, 3, 2), (2, 2, 2)]),
    ("...ii->...i", [(2, 1, 3, 3)]), ("ii,jj->ij", [(2, 2), (3, 3)]),
])
def test_einsum_with_repeated_labels_matches_torch(equation: str,
                                                   shapes: list[tuple[int, ...]]) -> None:
    same_as_torch(lambda *xs: _lib(xs[0]).einsum(equation, *xs),
                  lambda *xs: _lib(xs[0]).einsum(equation, *xs),
                  *[R.standard_normal(s) for s in shapes])
