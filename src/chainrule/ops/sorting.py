"""Sorting and selection: ``sort``, ``argsort``, ``topk``, ``kthvalue``.

Composites, not primitives: the order is computed on the array (it has no gradient), and the
values are gathered from the input, so gradients flow to the selected elements through
``gather``. NaN sorts as the largest value, as in PyTorch.
"""

from __future__ import annotations

from collections import namedtuple

from chainrule.backend import Array, xp
from chainrule.ops.movement import gather
from chainrule.tensor import Tensor

SortResult = namedtuple("SortResult", ["values", "indices"])
TopKResult = namedtuple("TopKResult", ["values", "indices"])
KthValueResult = namedtuple("KthValueResult", ["values", "indices"])


def _dim(input: Tensor, dim: int, op: str) -> int:
    n = max(input.ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of shape "
                         f"{tuple(input.shape)}")
    return dim % n


def _checked_k(input: Tensor, k: int, dim: int, op: str, lowest: int) -> int:
    """``dim`` made non-negative, after checking that ``lowest ≤ k ≤`` its size."""
    d = _dim(input, dim, op)
    size = input.shape[d] if input.ndim else 1
    if not lowest <= k <= size:
        raise RuntimeError(f"{op}: k ({k}) is out of range for dimension {d} of size {size}")
    return d


def _order(a: Array, dim: int, descending: bool) -> Array:
    """Indices that sort ``a`` along ``dim`` (stable when ascending)."""
    if a.ndim == 0:
        return xp.zeros((), xp.int64)
    idx = xp.argsort(a, axis=dim, kind="stable")
    return xp.flip(idx, axis=dim) if descending else idx


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64).

    Example:
        >>> import chainrule as cr
        >>> cr.argsort(cr.tensor([3.0, 1.0, 2.0])).tolist()
        [1, 2, 0]
    """
    d = _dim(input, dim, "argsort")
    return Tensor._wrap(_order(input.array, d, descending).astype(xp.int64, copy=False))


def sort(input: Tensor, dim: int = -1, descending: bool = False,
         stable: bool = False) -> SortResult:
    """``(values, indices)``: ``input`` sorted along ``dim``; gradients flow to the values.

    Example:
        >>> import chainrule as cr
        >>> cr.sort(cr.tensor([3.0, 1.0, 2.0]), descending=True).values.tolist()
        [3.0, 2.0, 1.0]
    """
    idx = argsort(input, dim, descending, stable)
    if input.ndim == 0:
        return SortResult(input, idx)
    return SortResult(gather(input, dim, idx), idx)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> TopKResult:
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, in order.

    Example:
        >>> import chainrule as cr
        >>> cr.topk(cr.tensor([1.0, 5.0, 3.0, 4.0]), 2).indices.tolist()
        [1, 3]
    """
    d = _checked_k(input, k, dim, "topk", lowest=0)
    if input.ndim == 0:
        return TopKResult(input, Tensor._wrap(xp.zeros((), xp.int64)))
    idx = _order(input.array, d, descending=largest)
    idx = xp.take(idx, xp.arange(k), axis=d).astype(xp.int64, copy=False)
    index = Tensor._wrap(idx)
    return TopKResult(gather(input, d, index), index)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> KthValueResult:
    """The ``k``-th smallest element (1-based) along ``dim`` and its index.

    Example:
        >>> import chainrule as cr
        >>> cr.kthvalue(cr.tensor([4.0, 1.0, 3.0]), 2).values.item()
        3.0
    """
    d = _checked_k(input, k, dim, "kthvalue", lowest=1)
    if input.ndim == 0:
        return KthValueResult(input, Tensor._wrap(xp.zeros((), xp.int64)))
    idx = xp.take(_order(input.array, d, False), [k - 1], axis=d).astype(xp.int64, copy=False)
    index = Tensor._wrap(idx)
    values = gather(input, d, index)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return KthValueResult(values, index)
