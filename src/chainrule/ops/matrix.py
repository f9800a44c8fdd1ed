"""Matrix composites: ``diagonal``, ``diag``, ``trace``, ``addmm``, ``baddbmm``, ``cdist``.

No primitives here: diagonals are advanced indexing (``getitem``, whose backward scatters the
gradient back onto the diagonal) and ``diag`` of a vector is an ``index_put`` into zeros; the
products are ``matmul`` plus scaled adds; ``cdist`` is a norm of pairwise differences.
"""

from __future__ import annotations

from typing import Any

from chainrule.amp.autocast_mode import float32_op
from chainrule.backend import Array, xp
from chainrule.ops.linalg import matmul
from chainrule.ops.movement import index_put
from chainrule.ops.reduce import norm
from chainrule.tensor import Tensor


def _diag_index(rows: int, cols: int, offset: int) -> tuple[Array, Array]:
    """Row and column indices of the ``offset`` diagonal of a ``rows × cols`` matrix."""
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    i = xp.arange(n)
    return (i, i + offset) if offset >= 0 else (i - offset, i)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of the matrices formed by dims ``dim1`` and ``dim2``; it becomes
    the last dim of the result (as in PyTorch). Gradients flow back onto the diagonal.

    Shape:
        (..., n, ..., m, ...) → (..., k) with k the length of the diagonal.

    Example:
        >>> import chainrule as cr
        >>> cr.diagonal(cr.arange(9.0).reshape(3, 3), 1).tolist()
        [1.0, 5.0]
    """
    if input.ndim < 2:
        raise RuntimeError(f"diagonal: expected a tensor with at least 2 dims, got shape "
                           f"{tuple(input.shape)}")
    n = input.ndim
    if not (-n <= dim1 < n and -n <= dim2 < n) or dim1 % n == dim2 % n:
        raise RuntimeError(f"diagonal: dims {dim1} and {dim2} must be two distinct dims of a "
                           f"tensor of shape {tuple(input.shape)}")
    d1, d2 = dim1 % n, dim2 % n
    rest = [d for d in range(n) if d not in (d1, d2)]
    x = input.permute(*rest, d1, d2) if (d1, d2) != (n - 2, n - 1) else input
    rows, cols = _diag_index(x.shape[-2], x.shape[-1], offset)
    return x[(..., rows, cols)]


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input → the square matrix with ``input`` on its ``diagonal``-th diagonal;
    a 2-D input → its ``diagonal``-th diagonal (1-D).

    Example:
        >>> import chainrule as cr
        >>> cr.diag(cr.tensor([1.0, 2.0])).tolist()
        [[1.0, 0.0], [0.0, 2.0]]
    """
    if input.ndim == 2:
        return input.diagonal(diagonal)  # the method: the argument shadows the function
    if input.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {tuple(input.shape)}")
    size = input.shape[0] + abs(diagonal)
    zeros = Tensor._wrap(xp.zeros((size, size), input.dtype))
    return index_put(zeros, _diag_index(size, size, diagonal), input)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor.  ∂/∂x = g·I.

    Example:
        >>> import chainrule as cr
        >>> cr.trace(cr.arange(9.0).reshape(3, 3)).item()
        12.0
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a 2-D tensor, got shape {tuple(input.shape)}")
    return diagonal(input).sum()


def _scaled_sum(input: Tensor, product: Tensor, beta: Any, alpha: Any, op: str) -> Tensor:
    """β·input + α·product, where input must broadcast to the product's shape; β = 0 ignores
    ``input`` entirely (its nan/inf do not propagate), as in PyTorch."""
    try:
        shape = xp.broadcast_shapes(tuple(input.shape), tuple(product.shape))
    except ValueError:
        shape = None
    if shape != tuple(product.shape):
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} does not broadcast to "
                           f"the product's shape {tuple(product.shape)}")
    out = product if alpha == 1 else product * alpha
    if beta == 0:
        return out
    return out + (input if beta == 1 else input * beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """β·input + α·(mat1 @ mat2); ``input`` broadcasts to the product's shape.

    Shape:
        input (n, p) or broadcastable to it, mat1 (n, m), mat2 (m, p) → (n, p).

    Example:
        >>> import chainrule as cr
        >>> cr.addmm(cr.ones(2, 2), cr.eye(2), cr.eye(2), beta=2.0).tolist()
        [[3.0, 2.0], [2.0, 3.0]]
    """
    if mat1.ndim != 2 or mat2.ndim != 2 or mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: mat1 and mat2 must be matrices that can be multiplied, got "
                           f"shapes {tuple(mat1.shape)} and {tuple(mat2.shape)}")
    return _scaled_sum(input, matmul(mat1, mat2), beta, alpha, "addmm")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
            alpha: Any = 1) -> Tensor:
    """β·input + α·(batch1 @ batch2), batch by batch; ``input`` broadcasts to the result.

    Shape:
        input broadcastable to (b, n, p), batch1 (b, n, m), batch2 (b, m, p) → (b, n, p).

    Example:
        >>> import chainrule as cr
        >>> cr.baddbmm(cr.zeros(2, 1, 1), cr.ones(2, 1, 3), cr.ones(2, 3, 1)).shape
        chainrule.Size([2, 1, 1])
    """
    if (batch1.ndim != 3 or batch2.ndim != 3 or batch1.shape[0] != batch2.shape[0]
            or batch1.shape[2] != batch2.shape[1]):
        raise RuntimeError(f"baddbmm: batch1 and batch2 must be 3-D with equal batch sizes and "
                           f"matching inner dims, got shapes {tuple(batch1.shape)} and "
                           f"{tuple(batch2.shape)}")
    return _scaled_sum(input, matmul(batch1, batch2), beta, alpha, "baddbmm")


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """β·input + α·(mat @ vec).

    Example:
        >>> import chainrule as cr
        >>> cr.addmv(cr.ones(2), cr.eye(2), cr.tensor([3.0, 4.0]), alpha=2).tolist()
        [7.0, 9.0]
    """
    if mat.ndim != 2 or vec.ndim != 1 or mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"addmv: expected a matrix and a vector that can be multiplied, got "
                           f"shapes {tuple(mat.shape)} and {tuple(vec.shape)}")
    return _scaled_sum(input, matmul(mat, vec), beta, alpha, "addmv")


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """β·input + α·(vec1 ⊗ vec2), the outer product.

    Example:
        >>> import chainrule as cr
        >>> cr.addr(cr.zeros(2, 2), cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])).tolist()
        [[3.0, 4.0], [6.0, 8.0]]
    """
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: expected 1-D vectors, got shapes {tuple(vec1.shape)} and "
                           f"{tuple(vec2.shape)}")
    return _scaled_sum(input, vec1[:, None] * vec2[None, :], beta, alpha, "addr")


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1,
           alpha: Any = 1) -> Tensor:
    """β·input + α·Σ_b (batch1[b] @ batch2[b]).

    Example:
        >>> import chainrule as cr
        >>> cr.addbmm(cr.zeros(1, 1), cr.ones(3, 1, 2), cr.ones(3, 2, 1)).tolist()
        [[6.0]]
    """
    if (batch1.ndim != 3 or batch2.ndim != 3 or batch1.shape[0] != batch2.shape[0]
            or batch1.shape[2] != batch2.shape[1]):
        raise RuntimeError(f"addbmm: batch1 and batch2 must be 3-D with equal batch sizes and "
                           f"matching inner dims, got shapes {tuple(batch1.shape)} and "
                           f"{tuple(batch2.shape)}")
    return _scaled_sum(input, matmul(batch1, batch2).sum(0), beta, alpha, "addbmm")


@float32_op
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distance between each row of ``x1`` and each row of ``x2``.

    Computed as the norm of the pairwise differences (not the ``‖a‖² + ‖b‖² − 2a·b`` expansion):
    exact for close points, any ``p ≥ 0`` (``0`` counts differing coordinates, ``inf`` takes
    the largest), and the gradient of a zero distance is zero rather than nan, as in PyTorch.
    It uses a (..., P, R, M) intermediate; ``compute_mode`` is accepted and ignored.

    Shape:
        x1 (*B₁, P, M), x2 (*B₂, R, M) with B₁, B₂ broadcasting → (*B, P, R).

    Example:
        >>> import chainrule as cr
        >>> cr.cdist(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0], [1.0, 0.0]])).tolist()
        [[5.0, 1.0]]
    """
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: x1 and x2 must be at least 2-D with the same number of "
                           f"columns, got shapes {tuple(x1.shape)} and {tuple(x2.shape)}")
    try:
        xp.broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"cdist: batch dims of shapes {tuple(x1.shape)} and "
                           f"{tuple(x2.shape)} do not broadcast") from None
    if not isinstance(p, (int, float)) or p < 0:
        raise ValueError(f"cdist: p must be a non-negative number, got {p!r}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:
        return Tensor._wrap((diff.array != 0).sum(-1).astype(diff.dtype))
    return norm(diff, p, dim=-1)
