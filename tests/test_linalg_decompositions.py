"""cr.linalg solvers and decompositions beyond the gradcheck matrix: result types and shapes
(batched, every mode), identities they satisfy, forward-mode tangents of the composed ones,
the top-level aliases, and one-line errors naming the function and the shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fwd_check import assert_jvp_matches_fd

import chainrule as cr

R = np.random.default_rng(0)
A = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
TALL = R.standard_normal((2, 5, 3))


def test_results_are_named_tuples_with_pytorch_field_names() -> None:
    x = cr.tensor(A)
    assert cr.linalg.slogdet(x)._fields == ("sign", "logabsdet")
    assert cr.linalg.qr(x)._fields == ("Q", "R")
    assert cr.linalg.svd(x)._fields == ("U", "S", "Vh")
    assert cr.linalg.eigh(x)._fields == ("eigenvalues", "eigenvectors")
    assert cr.linalg.lstsq(x, x)._fields == ("solution", "residuals", "rank",
                                             "singular_values")


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4), (2, 1, 5, 2)])
def test_factorisations_reconstruct_the_input(shape: tuple[int, ...]) -> None:
    a = R.standard_normal(shape)
    x = cr.tensor(a)
    m, n = shape[-2:]
    k = min(m, n)
    for mode, cols in [("reduced", k), ("complete", m)]:
        q, r = cr.linalg.qr(x, mode=mode)
        assert q.shape == (*shape[:-2], m, cols) and r.shape == (*shape[:-2], cols, n)
        np.testing.assert_allclose((q @ r).array, a, atol=1e-12)
    for full, (mu, nv) in [(True, (m, n)), (False, (k, k))]:
        u, s, vh = cr.linalg.svd(x, full_matrices=full)
        assert u.shape == (*shape[:-2], m, mu) and vh.shape == (*shape[:-2], nv, n)
        np.testing.assert_allclose(((u[..., :k] * s.unsqueeze(-2)) @ vh[..., :k, :]).array, a,
                                   atol=1e-12)
    if m == n:
        sym = cr.tensor(a + np.swapaxes(a, -1, -2))
        w, v = cr.linalg.eigh(sym)
        np.testing.assert_allclose((v * w.unsqueeze(-2) @ v.mT).array, sym.array, atol=1e-12)
        spd = sym @ sym.mT + cr.eye(n, dtype=cr.float64)
        lo = cr.linalg.cholesky(spd)
        np.testing.assert_allclose((lo @ lo.mT).array, spd.array, atol=1e-10)
        np.testing.assert_allclose(cr.linalg.cholesky(spd, upper=True).array, lo.mT.array)


@pytest.mark.parametrize("f, arrays", [
    (lambda a, b: cr.linalg.lstsq(a, b).solution, [TALL, R.standard_normal((2, 5, 2))]),
    (lambda a: cr.linalg.slogdet(a).logabsdet, [A]),
    (lambda a: cr.logdet(a), [A]),
    (lambda a: cr.linalg.svdvals(a), [TALL]),
    (lambda a: cr.linalg.matrix_norm(a, "nuc"), [TALL]),
    (lambda a, b: cr.linalg.solve(a, b, left=False), [A, R.standard_normal((4, 3))]),
], ids=["lstsq", "slogdet", "logdet", "svdvals", "nuc", "solve-right"])
def test_tangents(f: Any, arrays: list[np.ndarray]) -> None:
    assert_jvp_matches_fd(f, *arrays)


def test_aliases_and_methods() -> None:
    x = cr.tensor(A[0])
    np.testing.assert_allclose(x.inverse().array, np.linalg.inv(A[0]))
    np.testing.assert_allclose(cr.inverse(x).array, np.linalg.inv(A[0]))
    np.testing.assert_allclose(x.det().array, np.linalg.det(A[0]))
    np.testing.assert_allclose(cr.det(x).array, np.linalg.det(A[0]))
    np.testing.assert_allclose(x.logdet().array, np.log(np.linalg.det(A[0])))
    assert np.isnan(cr.logdet(cr.tensor([[-1.0]])).item())
    assert cr.slogdet(x).sign.item() == 1.0
    assert issubclass(cr.linalg.LinAlgError, RuntimeError)


def test_lstsq_minimum_norm_for_wide_and_vector_right_hand_sides() -> None:
    a = R.standard_normal((2, 4))
    b = R.standard_normal(2)
    got = cr.linalg.lstsq(cr.tensor(a), cr.tensor(b)).solution
    np.testing.assert_allclose(got.array, np.linalg.pinv(a) @ b, atol=1e-12)
    out = cr.linalg.lstsq(cr.tensor(TALL), cr.tensor(TALL[..., :1]), driver="gelsd")
    assert out.rank.tolist() == [3, 3] and out.singular_values.shape == (2, 3)
    assert out.residuals.shape == (2, 1)


@pytest.mark.parametrize("call, error, message", [
    (lambda: cr.linalg.inv(cr.zeros(2, 2)), cr.linalg.LinAlgError,
     r"linalg.inv: the input matrix is singular.*\(input of shape \(2, 2\)\)"),
    (lambda: cr.linalg.inv(cr.zeros(2, 3)), RuntimeError,
     r"linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: cr.linalg.det(cr.ones(3)), RuntimeError,
     r"linalg.det: the input tensor A must have at least 2 dimensions, got shape \(3,\)"),
    (lambda: cr.linalg.inv(cr.eye(2, dtype=cr.int64)), RuntimeError,
     r"linalg.inv: expected a floating point tensor as input, got int64"),
    (lambda: cr.linalg.cholesky(-cr.eye(2)), cr.linalg.LinAlgError,
     r"linalg.cholesky: .*not positive-definite \(input of shape \(2, 2\)\)"),
    (lambda: cr.linalg.solve(cr.zeros(2, 2), cr.ones(2)), cr.linalg.LinAlgError,
     r"linalg.solve: the solver failed because the input matrix is singular"),
    (lambda: cr.linalg.solve(cr.eye(2), cr.ones(3)), RuntimeError,
     r"linalg.solve: incompatible shapes of A and B .*\(2, 2\) and \(3,\)"),
    (lambda: cr.linalg.solve(cr.ones(2, 2, 2), cr.ones(3, 2, 1)), RuntimeError,
     r"linalg.solve: batch dims of A \(2, 2, 2\) and B \(3, 2, 1\) do not broadcast"),
    (lambda: cr.linalg.qr(cr.ones(2, 2), mode="full"), RuntimeError,
     r"linalg.qr: qr received unrecognized mode 'full'"),
    (lambda: cr.linalg.eigh(cr.eye(2), UPLO="X"), RuntimeError, r"UPLO must be 'L' or 'U'"),
    (lambda: cr.linalg.lstsq(cr.ones(3, 2), cr.ones(4, 1)), RuntimeError,
     r"linalg.lstsq: A of shape \(3, 2\) and B of shape \(4, 1\)"),
    (lambda: cr.linalg.lstsq(cr.ones(3, 2), cr.ones(3, 1), driver="lu"), RuntimeError,
     r"driver` should be one of"),
])
def test_errors(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_qr_gradient_refused_for_complete_tall_inputs_and_mode_r() -> None:
    x = cr.tensor(TALL, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"not differentiable when mode='complete' and nrows "
                                           r"> ncols \(shape \(2, 5, 3\)\)"):
        cr.linalg.qr(x, mode="complete")[0].sum().backward()


@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_of_wide_inputs_tangents(mode: str) -> None:
    assert_jvp_matches_fd(lambda a: cr.linalg.qr(a, mode=mode), np.swapaxes(TALL, -1, -2))


@pytest.mark.parametrize("a, cofactors", [
    ([[1.0, 2.0], [2.0, 4.0]], [[4.0, -2.0], [-2.0, 1.0]]),
    (np.zeros((3, 3)), np.zeros((3, 3))),
    ([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], np.diag([2.0, 1.0, 3.0])],
     [[[-3.0, 6.0, -3.0], [6.0, -12.0, 6.0], [-3.0, 6.0, -3.0]], np.diag([3.0, 6.0, 2.0])]),
], ids=["rank-1", "zero", "batch-with-singular"])
def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix(a: Any, cofactors: Any) -> None:
    """PyTorch 2.13 returns zeros here; the cofactor matrix is the derivative."""
    a = np.array(a, dtype=np.float64)
    x = cr.tensor(a, requires_grad=True)
    cr.linalg.det(x).sum().backward()
    np.testing.assert_allclose(x.grad.array, cofactors, atol=1e-12)
    assert cr.autograd.gradcheck(cr.linalg.det, [cr.tensor(a, requires_grad=True)])
    assert_jvp_matches_fd(cr.linalg.det, a)


def test_low_precision_inputs_run_in_float32_under_autocast_and_are_refused_outside() -> None:
    pytest.importorskip("ml_dtypes")
    x = cr.tensor(A[0], dtype=cr.float32)
    with cr.autocast("cpu", dtype=cr.bfloat16):
        y = x @ x  # bfloat16 under autocast
        assert y.dtype == cr.bfloat16
        for out in (cr.linalg.inv(y), cr.linalg.svdvals(y), cr.linalg.qr(y).R,
                    cr.linalg.slogdet(y).logabsdet, cr.linalg.eigh(y).eigenvalues):
            assert out.dtype == cr.float32
    with pytest.raises(RuntimeError, match=r"linalg.inv: not implemented for float16"):
        cr.linalg.inv(x.half())
