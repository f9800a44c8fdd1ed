"""Gradcheck specs for the ``cr.linalg`` decompositions and solvers (solve, cholesky, qr, svd,
eigh, lstsq), each against NumPy's own routine: the op table names ``chainrule.*``, ``Tensor``
and ``nn.functional`` exports, and these live in ``cr.linalg`` only (det, inverse, logdet,
slogdet and einsum have entries: specs_table.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, rand

import chainrule as cr

R = np.random.Generator


# ---- solvers and decompositions: random well-conditioned inputs, batched or not ---------------
def _batch(r: R) -> tuple[int, ...]:
    return [(), (2,), (2, 1)][int(r.integers(0, 3))]


def _square(r: R, n: int | None = None) -> np.ndarray:
    """A well-conditioned square matrix (strictly diagonally dominant)."""
    n = n or int(r.integers(1, 4))
    return 0.5 * rand(r, (*_batch(r), n, n)) + 3 * np.eye(n) * r.choice([-1, 1])


def _spd(r: R) -> np.ndarray:
    m = rand(r, (*_batch(r), 3, 3))
    return m @ np.swapaxes(m, -1, -2) + np.eye(3)


def _sym(x: Any) -> Any:
    return (x + x.mT) / 2 if isinstance(x, cr.Tensor) else (x + np.swapaxes(x, -1, -2)) / 2


def _spread(r: R, m: int, n: int) -> np.ndarray:
    """An m × n matrix with well-separated singular values 1, 2, ..."""
    k = min(m, n)
    u, _ = np.linalg.qr(r.standard_normal((m, m)))
    v, _ = np.linalg.qr(r.standard_normal((n, n)))
    s = np.zeros((m, n))
    s[range(k), range(k)] = np.arange(1, k + 1) * (1 + 0.1 * r.random(k))
    return u @ s @ v.T


def _symmetric_spread(r: R) -> np.ndarray:
    """A symmetric 3 × 3 matrix with eigenvalues near ±1, ±2, ±3: well apart."""
    q, _ = np.linalg.qr(r.standard_normal((3, 3)))
    w = np.arange(1.0, 4.0) * (1 + 0.1 * r.random(3)) * r.choice([-1, 1])
    return (q * w) @ q.T


def _svd_gauge_free(lib: Any, full: bool) -> Any:
    """(S, U diag(w) Vh, U∘U): what an SVD determines, whatever the signs of the vectors."""
    def f(a: Any) -> Any:
        u, s, vh = (cr.linalg.svd(a, full) if lib is cr else np.linalg.svd(a, full))
        k = s.shape[-1]
        w = np.arange(1.0, k + 1)
        u, vh = u[..., :k], vh[..., :k, :]
        return s, (u * w) @ vh, u * u
    return f


def _eigh_gauge_free(lib: Any) -> Any:
    def f(a: Any) -> Any:
        w, v = cr.linalg.eigh(_sym(a)) if lib is cr else np.linalg.eigh(_sym(a))
        return w, v * v
    return f


def _qr_ref(a: np.ndarray) -> Any:
    q, r = np.linalg.qr(a)
    sign = np.sign(np.diagonal(r, axis1=-2, axis2=-1))  # LAPACK's signs, fixed positive
    return q * sign[..., None, :], r * sign[..., :, None]


def _qr_positive(a: Any) -> Any:
    q, r = cr.linalg.qr(a)
    sign = cr.tensor(np.sign(np.diagonal(r.array, axis1=-2, axis2=-1)))
    return q * sign.unsqueeze(-2), r * sign.unsqueeze(-1)


def _lstsq_case(r: R) -> list[Any]:
    m, n = [(4, 2), (3, 3), (2, 4)][int(r.integers(0, 3))]
    return [_spread(r, m, n), rand(r, (m, 2) if r.random() < 0.5 else (m,))]


SPECS = [
    Spec("solve", cr.linalg.solve, lambda r: [_square(r, 3), rand(r, (3, 2))], np.linalg.solve,
         gradgrad=True),
    Spec("solve", cr.linalg.solve, lambda r: [_square(r, 3), rand(r, (3,))],
         lambda a, b: np.linalg.solve(a, b[..., None])[..., 0], id="solve-vector"),
    Spec("cholesky", lambda a: cr.linalg.cholesky(_sym(a)), lambda r: [_spd(r)],
         lambda a: np.linalg.cholesky(_sym(a)), gradgrad=True),
    Spec("qr", _qr_positive, lambda r: [_spread(
        r, *[(4, 2), (3, 3), (2, 4)][int(r.integers(0, 3))])], _qr_ref, gradgrad=True),
    Spec("svd", _svd_gauge_free(cr, False), lambda r: [_spread(
        r, *[(4, 2), (3, 3), (2, 4)][int(r.integers(0, 3))])], _svd_gauge_free(np, False),
         gradgrad=True),
    Spec("svd", _svd_gauge_free(cr, True), lambda r: [_spread(r, 4, 2)],
         _svd_gauge_free(np, True), id="svd-full"),
    Spec("eigh", _eigh_gauge_free(cr), lambda r: [_symmetric_spread(r)], _eigh_gauge_free(np),
         gradgrad=True),
    Spec(("qr", "solve"), lambda a, b: cr.linalg.lstsq(a, b).solution, _lstsq_case,
         lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0], id="lstsq", gradgrad=True,
         fwd_atol=1e-9),
]
