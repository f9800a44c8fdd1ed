"""Sorting and selection: ``sort``, ``argsort``, ``topk``, ``kthvalue``.

Composites over one primitive without a gradient, ``Argsort`` (an op, so ``vmap`` batches it):
the values are gathered from the input at its indices, so gradients flow to the selected
elements through ``gather``. NaN sorts as the largest value, as in PyTorch.
"""

from __future__ import annotations

from collections import namedtuple

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops import batching
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


@register
class Argsort(Op):
    """The int64 indices that sort ``x`` along ``dim`` (stable when ascending); no gradient."""

    name = "argsort"
    differentiable = False
    saves_inputs = False
    batch_rule = staticmethod(batching.shifted("dim"))
    dim: int = -1
    descending: bool = False

    def forward(self, x: Array) -> Array:
        idx = xp.argsort(x, axis=self.dim, kind="stable")
        idx = xp.flip(idx, axis=self.dim) if self.descending else idx
        return idx.astype(xp.int64, copy=False)


def _order(input: Tensor, dim: int, descending: bool) -> Tensor:
    """Indices that sort ``input`` along non-negative ``dim`` (stable when ascending)."""
    if input.ndim == 0:
        return Tensor._wrap(xp.zeros((), xp.int64))
    return Argsort.apply(input, dim=dim, descending=descending)


def _narrow(index: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """``index[start:stop]`` along ``dim`` (a view, as ``Tensor.narrow``)."""
    return index[(slice(None),) * dim + (slice(start, stop),)]


def argsort(input: Tensor, dim: int = -1, descending: bool = False,
            stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64).

    Example:
        >>> import chainrule as cr
        >>> cr.argsort(cr.tensor([3.0, 1.0, 2.0])).tolist()
        [1, 2, 0]
    """
    return _order(input, _dim(input, dim, "argsort"), descending)


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
    index = _narrow(_order(input, d, descending=largest), d, 0, k)
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
    index = _narrow(_order(input, d, False), d, k - 1, k)
    values = gather(input, d, index)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return KthValueResult(values, index)
