"""``cr.linalg``: PyTorch's ``torch.linalg``: norms, solvers and decompositions.

``vector_norm`` treats the reduced dims as one vector, ``matrix_norm`` reduces two dims as a
matrix ('fro', 'nuc', 2 / -2 from the singular values, and the induced 1 / inf norms: largest
column / row sum of ``|A|``), and ``norm`` picks between them as PyTorch does.

``inv``, ``solve``, ``det``, ``slogdet``, ``cholesky``, ``qr``, ``svd``, ``eigh`` and
``lstsq`` run NumPy's LAPACK routines batched over leading dims, with PyTorch's derivative
formulas (primitives in ``ops/linalg.py``); the gradients of ``svd`` and ``eigh`` assume
distinct singular values / eigenvalues, and those of ``qr`` and ``lstsq`` full-rank inputs.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

from chainrule.autograd.autocast_policy import policy as autocast
from chainrule.backend import is_floating, xp
from chainrule.ops import reduce as _reduce
from chainrule.ops.elementwise import where
from chainrule.ops.linalg import (
    QR,
    SVD,
    Cholesky,
    Det,
    Eigh,
    Inv,
    LinAlgError,
    LogAbsDet,
    SlogdetSign,
    Solve,
    matmul,
    unpack,
)
from chainrule.tensor import Tensor

__all__ = ["LinAlgError", "cholesky", "det", "eigh", "eigvalsh", "inv", "lstsq", "matmul",
           "matrix_norm", "norm", "qr", "slogdet", "solve", "svd", "svdvals", "vector_norm"]


def _floating(x: Tensor, dtype: Any, op: str) -> Tensor:
    if dtype is not None:
        x = x.to(dtype)
    if x.dtype.kind != "f":
        raise RuntimeError(f"linalg.{op}: expected a floating tensor, got {x.dtype}")
    return x


def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The ``ord``-norm of the elements over ``dim`` (all of them when None), taken as one
    vector: (Σ|xᵢ|^ord)^(1/ord); ``inf`` / ``-inf`` give max / min |xᵢ| and ``0`` counts the
    non-zero elements (no gradient). The gradient of a zero 2-norm is zero, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.vector_norm(cr.tensor([3.0, -4.0])).item()
        5.0
        >>> cr.linalg.vector_norm(cr.tensor([3.0, -4.0]), ord=1).item()
        7.0
    """
    x = _floating(x, dtype, "vector_norm")
    if isinstance(ord, str) or not isinstance(ord, (int, float)):
        raise ValueError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    if ord == 0:
        axes = _reduce.normalize_dims(dim, x.ndim, "linalg.vector_norm")
        count = (x.array != 0).sum(axis=axes, keepdims=keepdim)
        return Tensor._wrap(xp.asarray(count, x.dtype))
    if ord > 0 or math.isinf(ord):
        return _reduce.norm(x, ord, dim, keepdim)
    return _reduce.sum(x.abs() ** ord, dim, keepdim) ** (1.0 / ord)


def _two_dims(x: Tensor, dim: Any, op: str) -> tuple[int, int]:
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{op}: expected a tensor with at least 2 dims, got shape "
                           f"{tuple(x.shape)}")
    dims = tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"linalg.{op}: dim must be a 2-tuple, got {dim!r}")
    d0, d1 = (_reduce.normalize_dims(d, x.ndim, f"linalg.{op}")[0] for d in dims)
    if d0 == d1:
        raise RuntimeError(f"linalg.{op}: dims must be different, got {dim!r}")
    return d0, d1


def matrix_norm(x: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """The ``ord``-norm of the matrices formed by the two dims ``dim``: 'fro' (√Σ|aᵢⱼ|²),
    1 / -1 (largest / smallest column sum of |A|), inf / -inf (largest / smallest row sum).

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor([[1.0, -2.0], [3.0, 4.0]])
        >>> cr.linalg.matrix_norm(a, ord=1).item()
        6.0
        >>> cr.linalg.matrix_norm(a, ord=float("inf")).item()
        7.0
    """
    x = _floating(x, dtype, "matrix_norm")
    d0, d1 = _two_dims(x, dim, "matrix_norm")
    if ord == "fro":
        return _reduce.norm(x, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):
        rest = [d for d in range(x.ndim) if d not in (d0, d1)]
        values = svdvals(x.permute(*rest, d0, d1))
        out = (values.sum(-1) if ord == "nuc" else values[..., 0] if ord == 2
               else values[..., -1])
        return out.unsqueeze(d0 if d0 < d1 else d1).unsqueeze(max(d0, d1)) if keepdim else out
    if ord not in (1, -1, math.inf, -math.inf):
        raise ValueError(f"linalg.matrix_norm: unsupported ord {ord!r} (expected 'fro', 'nuc', "
                         "1, -1, 2, -2, inf or -inf)")
    summed, reduced = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = _reduce.sum(x.abs(), summed, keepdim=True)
    pick = _reduce.amax if ord > 0 else _reduce.amin
    out = pick(sums, reduced, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *,
         dtype: Any = None) -> Tensor:
    """A vector or matrix norm, chosen as PyTorch's ``torch.linalg.norm`` does: an int ``dim``
    (or a 1-tuple) → ``vector_norm``; a 2-tuple → ``matrix_norm``; ``dim=None`` → the 2-norm of
    the flattened input when ``ord`` is None, else a vector norm of a 1-D input or a matrix
    norm of a 2-D one.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.norm(cr.tensor([[3.0, 0.0], [0.0, 4.0]])).item()
        5.0
    """
    if isinstance(dim, int) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None:
        return matrix_norm(x, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(x, 2, None, keepdim, dtype=dtype)
    if x.ndim == 1:
        return vector_norm(x, ord, None, keepdim, dtype=dtype)
    if x.ndim == 2:
        return matrix_norm(x, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or "
                       f"2-D, got shape {tuple(x.shape)}")


# ---- solvers and decompositions ---------------------------------------------------------------
SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
QRResult = namedtuple("QRResult", ["Q", "R"])
SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])
EighResult = namedtuple("EighResult", ["eigenvalues", "eigenvectors"])
LstsqResult = namedtuple("LstsqResult", ["solution", "residuals", "rank", "singular_values"])


def _matrices(a: Tensor, op: str, square: bool = True) -> None:
    """PyTorch's checks: a floating tensor of (batches of) square matrices."""
    if not isinstance(a, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(a).__name__}")
    if a.ndim < 2:
        raise RuntimeError(f"linalg.{op}: the input tensor A must have at least 2 dimensions, "
                           f"got shape {tuple(a.shape)}")
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")
    if not is_floating(a.dtype):
        raise RuntimeError(f"linalg.{op}: expected a floating point tensor as input, got "
                           f"{a.dtype}")
    if a.dtype not in (xp.float32, xp.float64) and autocast.dtype is None:
        raise RuntimeError(f"linalg.{op}: not implemented for {a.dtype} (LAPACK needs float32 "
                           "or float64; under autocast the input is cast to float32)")


def _lapack(a: Tensor) -> Any:
    """``a``'s array in a dtype LAPACK takes (low precision under autocast → float32)."""
    return a.array if a.dtype in (xp.float32, xp.float64) else a.array.astype(xp.float32)


def inv(A: Tensor) -> Tensor:
    """The inverse of square matrices (batched over leading dims).  ∂/∂A = −A⁻ᵀ g A⁻ᵀ.

    Raises:
        LinAlgError: when a matrix is singular.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.inv(cr.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
        [[0.5, 0.0], [0.0, 0.25]]
    """
    _matrices(A, "inv")
    return Inv.apply(A)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (``left=False``: X A = B) for square A. B is (…, n, k), or (…, n) for a
    vector right-hand side; batch dims broadcast.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.solve(cr.tensor([[2.0, 0.0], [0.0, 4.0]]), cr.tensor([2.0, 2.0])).tolist()
        [1.0, 0.5]
    """
    _matrices(A, "solve")
    if not left:
        return solve(A.mT, B.mT).mT
    n = A.shape[-1]
    vector = B.ndim == 1 or B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim < 2 or rhs.shape[-2] != n:
        raise RuntimeError(f"linalg.solve: incompatible shapes of A and B for the equation "
                           f"AX = B ({tuple(A.shape)} and {tuple(B.shape)})")
    try:
        xp.broadcast_shapes(tuple(A.shape[:-2]), tuple(rhs.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve: batch dims of A {tuple(A.shape)} and B "
                           f"{tuple(B.shape)} do not broadcast") from None
    out = Solve.apply(A, rhs.to(A.dtype))
    return out.squeeze(-1) if vector else out


def det(A: Tensor) -> Tensor:
    """The determinant of square matrices.  ∂/∂A = g·(cofactor matrix), det A·A⁻ᵀ when A is
    invertible, from the SVD when it is not (PyTorch 2.13 gives zeros at singular A).

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.det(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).item()
        -2.0...
    """
    _matrices(A, "det")
    return Det.apply(A)


def slogdet(A: Tensor) -> SlogdetResult:
    """(sign, log |det A|) of square matrices; the sign has no gradient, ∂ log|det A|/∂A = A⁻ᵀ.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.slogdet(cr.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign.item()
        -1.0
    """
    _matrices(A, "slogdet")
    return SlogdetResult(SlogdetSign.apply(A), LogAbsDet.apply(A))


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L, lower-triangular with L Lᵀ = A, for symmetric positive-definite A (only its lower
    triangle is read); ``upper=True`` gives Lᵀ.

    Raises:
        LinAlgError: when a matrix is not positive-definite.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.cholesky(cr.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    _matrices(A, "cholesky")
    lo = Cholesky.apply(A)
    return lo.mT if upper else lo


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """A = Q R with orthonormal Q and upper-triangular R. ``mode``: 'reduced' (Q m×k, R k×n,
    k = min(m, n)), 'complete' (Q m×m, R m×n) or 'r' (R only, Q empty, no gradient).
    Gradients need a full-rank A, and m ≤ n for 'complete', as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> q, r = cr.linalg.qr(cr.tensor([[3.0], [4.0]]))
        >>> abs(r.item())
        5.0
    """
    _matrices(A, "qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"linalg.qr: qr received unrecognized mode '{mode}' but expected "
                           "one of 'reduced' (default), 'r', or 'complete'")
    packed = QR.apply(A, mode=mode)
    m, n = A.shape[-2:]
    k = m if mode == "complete" else min(m, n)
    q, r = unpack(packed, [(m, k), (k, n)])
    if mode == "r":
        q = Tensor._wrap(xp.empty((0,), A.dtype))
    return QRResult(q, r)


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """A = U diag(S) Vh with S ≥ 0 descending (k = min(m, n) values). ``full_matrices``
    (PyTorch's default) gives U m×m and Vh n×n; their extra columns get no gradient. Gradients
    need distinct, non-zero singular values, and depend on U and Vh only up to the sign of
    each pair (u_i, v_i), as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.svd(cr.tensor([[3.0, 0.0], [0.0, -4.0]])).S.tolist()
        [4.0, 3.0]
    """
    _matrices(A, "svd", square=False)
    m, n = A.shape[-2:]
    k = min(m, n)
    mu, nv = (m, n) if full_matrices else (k, k)
    u, s, vh = unpack(SVD.apply(A, full_matrices=bool(full_matrices)), [(m, mu), (k,), (nv, n)])
    return SVDResult(u, s, vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of A, descending.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.svdvals(cr.tensor([[0.0, 2.0], [1.0, 0.0]])).tolist()
        [2.0, 1.0]
    """
    return svd(A, full_matrices=False).S


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric matrices;
    only the ``UPLO`` ('L' or 'U') triangle is read. Gradients need distinct eigenvalues and
    depend on the eigenvectors only up to their signs, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.linalg.eigh(cr.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues.tolist()
        [1.0, 2.0]
    """
    _matrices(A, "eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    n = A.shape[-1]
    w, v = unpack(Eigh.apply(A, UPLO=UPLO), [(n,), (n, n)])
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of symmetric matrices, ascending."""
    return eigh(A, UPLO).eigenvalues


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *,
          driver: str | None = None) -> LstsqResult:
    """The least-squares solution X of A X ≈ B: min ‖A X − B‖ for tall A, the minimum-norm
    exact solution for wide A; A must have full rank (the solution is computed through
    ``qr`` and ``solve``, so it is differentiable). B is (…, m, k) or (…, m).

    As in PyTorch: ``residuals`` (‖A X − B‖² per column) are filled for m > n with the
    'gelsd' / 'gelss' / 'gels' drivers, ``rank`` for all drivers but 'gels', and
    ``singular_values`` for 'gelsd' / 'gelss'; otherwise they are empty. These three carry no
    gradient.

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
        >>> cr.linalg.lstsq(a, cr.tensor([1.0, 2.0, 3.0])).solution.tolist()
        [1.0, 2.0]
    """
    _matrices(A, "lstsq", square=False)
    if driver not in (None, "gelsy", "gels", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, "
                           f"gelsy, gelsd, gelss), got {driver!r}")
    m, n = A.shape[-2:]
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.ndim != A.ndim or rhs.shape[-2] != m:
        raise RuntimeError(f"linalg.lstsq: A of shape {tuple(A.shape)} and B of shape "
                           f"{tuple(B.shape)} do not have the same number of rows")
    rhs = rhs.to(A.dtype)
    if m >= n:
        q, r = qr(A)
        x = solve(r, q.mT @ rhs)
    else:
        q, r = qr(A.mT)
        x = q @ solve(r.mT, rhs)
    empty = Tensor._wrap(xp.empty((0,), A.dtype))
    driver = driver or "gelsy"
    residuals = empty
    if m > n and driver != "gelsy":
        diff = _lapack(A) @ x.array - rhs.array
        residuals = Tensor._wrap((diff * diff).sum(-2))
    rank = (Tensor._wrap(xp.asarray(xp.linalg.matrix_rank(_lapack(A), rtol=rcond), xp.int64))
            if driver != "gels" else Tensor._wrap(xp.empty((0,), xp.int64)))
    values = (Tensor._wrap(xp.linalg.svd(_lapack(A), compute_uv=False))
              if driver in ("gelsd", "gelss") else empty)
    return LstsqResult(x.squeeze(-1) if vector else x, residuals, rank, values)


# ---- PyTorch's top-level aliases and Tensor methods -------------------------------------------
def inverse(input: Tensor) -> Tensor:
    """``torch.inverse``: ``linalg.inv``.

    Example:
        >>> import chainrule as cr
        >>> cr.inverse(cr.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    return inv(input)



def logdet(input: Tensor) -> Tensor:
    """log det A: nan where det A < 0, −inf where it is 0 (``torch.logdet``).

    Example:
        >>> import chainrule as cr
        >>> cr.logdet(cr.tensor([[2.0, 0.0], [0.0, 3.0]]))
        tensor(1.7918)
    """
    sign, logabs = slogdet(input)
    nan, zero = (Tensor._wrap(xp.asarray(v, logabs.dtype)) for v in (xp.nan, 0.0))
    return logabs + where(sign < 0, nan, zero)
