"""``cr.linalg``: PyTorch's ``torch.linalg`` norms, composed from ``cr.norm`` and reductions.

``vector_norm`` treats the reduced dims as one vector, ``matrix_norm`` reduces two dims as a
matrix ('fro', and the induced 1 / inf norms: largest column / row sum of ``|A|``), and
``norm`` picks between them as PyTorch does. Norms that need singular values ('nuc', 2, -2)
are not implemented.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.backend import xp
from chainrule.ops import reduce as _reduce
from chainrule.ops.linalg import matmul
from chainrule.tensor import Tensor

__all__ = ["matmul", "matrix_norm", "norm", "vector_norm"]


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
        count = (x.data != 0).sum(axis=axes, keepdims=keepdim)
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
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, "
                                  "which chainrule does not compute")
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
