"""Tensors assembled from others: block_diag, diag_embed, diagflat, vander, cartesian_prod
and combinations, composed from indexing, ``stack`` and ``cat`` (gradients come with them)."""

from __future__ import annotations

import itertools

from chainrule.backend import xp
from chainrule.ops.movement import cat, stack
from chainrule.tensor import Tensor


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of the given matrices (0-d and 1-D tensors count as 1 × 1 and
    1 × n blocks).

    Example:
        >>> import chainrule as cr
        >>> cr.block_diag(cr.ones(1, 2), cr.tensor([[2.0], [3.0]]))
        tensor([[1., 1., 0.],
                [0., 0., 2.],
                [0., 0., 3.]])
    """
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    if any(b.ndim != 2 for b in blocks):
        raise RuntimeError("block_diag: input tensors must have 2 or fewer dimensions, got "
                           f"shapes {[tuple(t.shape) for t in tensors]}")
    dtype = xp.result_type(*(b.array for b in blocks))
    cols = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        n = b.shape[1]
        parts = [Tensor._wrap(xp.zeros((b.shape[0], left), dtype)), b.to(dtype),
                 Tensor._wrap(xp.zeros((b.shape[0], cols - left - n), dtype))]
        rows.append(cat(parts, 1))
        left += n
    return cat(rows, 0)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose diagonal (shifted by ``offset``) holds the last dim of ``input``, in
    new dims ``dim1`` and ``dim2`` of the output.

    Example:
        >>> import chainrule as cr
        >>> cr.diag_embed(cr.tensor([[1.0, 2.0]]))
        tensor([[[1., 0.],
                 [0., 2.]]])
    """
    n = input.shape[-1] + abs(offset)
    rows = xp.arange(input.shape[-1]) + max(-offset, 0)
    cols = xp.arange(input.shape[-1]) + max(offset, 0)
    out = Tensor._wrap(xp.zeros((*input.shape[:-1], n, n), input.dtype))
    out = out.index_put((Ellipsis, Tensor._wrap(rows), Tensor._wrap(cols)), input)
    ndim = out.ndim
    a, b = dim1 % ndim, dim2 % ndim
    if a == b:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, "
                           f"{dim2}")
    rest = [d for d in range(ndim) if d not in (a, b)]
    order = [0] * ndim  # output dim -> dim of ``out``
    for src, dst in zip(range(ndim - 2), rest):
        order[dst] = src
    order[a], order[b] = ndim - 2, ndim - 1
    return out.permute(*order)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A square matrix with the flattened ``input`` on its diagonal (shifted by ``offset``).

    Example:
        >>> import chainrule as cr
        >>> cr.diagflat(cr.tensor([[1.0], [2.0]]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    return diag_embed(input.reshape(-1), offset)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of the 1-D ``x``: columns x^(N−1), …, x, 1 (reversed with
    ``increasing``).

    Example:
        >>> import chainrule as cr
        >>> cr.vander(cr.tensor([1, 2, 3]))
        tensor([[1, 1, 1],
                [4, 2, 1],
                [9, 3, 1]])
    """
    if x.ndim != 1:
        raise RuntimeError(f"vander: x must be a one-dimensional tensor, got shape "
                           f"{tuple(x.shape)}")
    n = x.shape[0] if N is None else N
    powers = range(n) if increasing else range(n - 1, -1, -1)
    return stack([x ** p if p else x * 0 + 1 for p in powers], 1) if n else \
        Tensor._wrap(xp.zeros((x.shape[0], 0), x.dtype))


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element of each 1-D tensor, as rows (one tensor: itself).

    Example:
        >>> import chainrule as cr
        >>> cr.cartesian_prod(cr.tensor([1, 2]), cr.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    if len(tensors) == 1:
        return tensors[0]
    grids = xp.meshgrid(*(xp.arange(t.shape[0]) for t in tensors), indexing="ij")
    return stack([t[Tensor._wrap(g.reshape(-1))] for t, g in zip(tensors, grids)], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """All length-``r`` combinations of the elements of the 1-D ``input``, as rows, in
    ``itertools.combinations`` order.

    Example:
        >>> import chainrule as cr
        >>> cr.combinations(cr.tensor([1, 2, 3]))
        tensor([[1, 2],
                [1, 3],
                [2, 3]])
    """
    if input.ndim != 1:
        raise RuntimeError(f"combinations: expect a 1D vector, but got shape "
                           f"{tuple(input.shape)}")
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    index = xp.asarray(list(pick(range(input.shape[0]), r)), xp.int64).reshape(-1, r)
    if r == 0 or not index.size:
        return Tensor._wrap(xp.zeros((0,) if r == 0 else (0, r), input.dtype))
    return input[Tensor._wrap(index)]
