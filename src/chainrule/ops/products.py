"""Products and norms built on ``matmul`` and broadcasting: tensordot, inner, kron, cross, mv,
vdot, dist and renorm (gradients come with the ops they use)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.ops.linalg import matmul
from chainrule.ops.movement import stack
from chainrule.ops.shape import normalize_dims
from chainrule.tensor import Tensor


def tensordot(a: Tensor, b: Tensor, dims: int | Sequence[Any] = 2) -> Tensor:
    """Σ over the last ``dims`` dims of ``a`` and the first ``dims`` of ``b`` (or over the
    listed pairs ``(dims_a, dims_b)``).

    Example:
        >>> import chainrule as cr
        >>> cr.tensordot(cr.ones(2, 3, 4), cr.ones(3, 4, 5)).shape
        chainrule.Size([2, 5])
    """
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both sides must list as many dims, got {da} and {db}")
    if len(da) > min(a.ndim, b.ndim) or (a.ndim == 0 and da) or (b.ndim == 0 and db):
        raise RuntimeError(f"tensordot: cannot contract {len(da)} dims of tensors of shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    da = [normalize_dims(d, a.ndim, "tensordot")[0] for d in da]
    db = [normalize_dims(d, b.ndim, "tensordot")[0] for d in db]
    if [a.shape[i] for i in da] != [b.shape[j] for j in db]:
        raise RuntimeError(f"tensordot: contracted dims of shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)} differ in size")
    keep_a = [d for d in range(a.ndim) if d not in da]
    keep_b = [d for d in range(b.ndim) if d not in db]
    k = 1
    for d in da:
        k *= a.shape[d]
    left = a.permute(*keep_a, *da).reshape(-1, k)
    right = b.permute(*db, *keep_b).reshape(k, -1)
    return matmul(left, right).reshape(*(a.shape[d] for d in keep_a),
                                       *(b.shape[d] for d in keep_b))


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Σ over the last dims of both (the dot product of 1-D tensors).

    Example:
        >>> import chainrule as cr
        >>> cr.inner(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor(11.)
    """
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors.

    Example:
        >>> import chainrule as cr
        >>> cr.vdot(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor(11.)
    """
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"vdot: 1D tensors expected, but got {input.ndim}D and "
                           f"{other.ndim}D tensors")
    return (input * other).sum()


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix × vector: (n, m) by (m,) gives (n,).

    Example:
        >>> import chainrule as cr
        >>> cr.mv(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([1.0, 1.0]))
        tensor([3., 7.])
    """
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes "
                           f"{tuple(input.shape)} and {tuple(vec.shape)}")
    return matmul(input, vec)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: every element of ``input`` times the whole of ``other``.

    Example:
        >>> import chainrule as cr
        >>> cr.kron(cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0], [10.0]]))
        tensor([[ 1.,  2.],
                [10., 20.]])
    """
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(*(s for d in sa for s in (d, 1)))  # a's dims at even places
    b = other.reshape(*(s for d in sb for s in (1, d)))  # b's at odd ones
    return (a * b).reshape(*(x * y for x, y in zip(sa, sb)))


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (by default the first dim of size 3, as
    ``torch.cross``; ``torch.linalg.cross`` takes the last).

    Example:
        >>> import chainrule as cr
        >>> cr.cross(cr.tensor([1.0, 0.0, 0.0]), cr.tensor([0.0, 1.0, 0.0]))
        tensor([0., 0., 1.])
    """
    if dim is None:
        dim = next((d for d, n in enumerate(input.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape "
                               f"{tuple(input.shape)}")
    if input.ndim == 0 or input.shape != other.shape:
        raise RuntimeError(f"cross: inputs must have one shape with a dimension of length 3, "
                           f"got {tuple(input.shape)} and {tuple(other.shape)}")
    d = normalize_dims(dim, input.ndim, "cross")[0]
    if input.shape[d] != 3:
        raise RuntimeError(f"cross: inputs dimension {dim} must have length 3, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    a = [input.select(d, i) for i in range(3)]
    b = [other.select(d, i) for i in range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                  a[0] * b[1] - a[1] * b[0]], d)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input − other`` (broadcasting).

    Example:
        >>> import chainrule as cr
        >>> cr.dist(cr.tensor([0.0, 0.0]), cr.tensor([3.0, 4.0]))
        tensor(5.)
    """
    return (input - other).norm(p)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` rescaled to p-norm at most ``maxnorm`` (slices within it
    unchanged).

    Example:
        >>> import chainrule as cr
        >>> cr.renorm(cr.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0)
        tensor([[0.6000, 0.8000],
                [0.3000, 0.4000]])
    """
    d = normalize_dims(dim, input.ndim, "renorm")[0]
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = input.abs().pow(p).sum(others, keepdim=True).pow(1.0 / p) if others else input.abs()
    factor = (maxnorm / (norms + 1e-7)).where(norms > maxnorm, xp.ones((), input.dtype))
    return input * factor
