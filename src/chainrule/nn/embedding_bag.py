"""``EmbeddingBag`` and ``F.embedding_bag``: the sum, mean or max of the embedding rows of each
bag of indices, without materialising the (bags, bag length, dim) lookup for sum and mean.

Composite: the rows are gathered once (``weight[ids]``), then summed into their bags with one
``scatter_add`` (mean divides by the bag sizes); max lays each bag's rows out in a padded
(bags, longest bag, dim) table and takes ``max`` over the bag axis, so the gradient goes to the
first maximal row of each column, as in PyTorch. Empty bags give zeros.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import Array, float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter
from chainrule.ops.elementwise import where
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool,
          per_sample_weights: Tensor | None) -> tuple[Array, Array, Tensor | None, int]:
    """(flat indices, bag of each index, flat per-sample weights, number of bags)."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: if input is 2D, then offsets has to be None, as "
                             f"input is treated is a mini-batch of fixed length sequences. "
                             f"However, found offsets of type {type(offsets)}")
        b, n = input.shape
        flat = input.array.reshape(-1)
        bag = xp.repeat(xp.arange(b), n)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
        return flat, bag, psw, b
    if input.ndim != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {input.ndim}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    off = offsets.array if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if off.ndim != 1 or off.dtype.kind not in "iu":
        raise ValueError(f"embedding_bag: offsets has to be a 1D integer Tensor, got shape "
                         f"{tuple(off.shape)} and dtype {off.dtype}")
    n = input.shape[0]
    bounds = off if include_last_offset else xp.append(off, n)
    if not off.size:
        raise ValueError("embedding_bag: offsets must hold at least one bag start, got an "
                         "empty tensor")
    if off[0] != 0:
        raise ValueError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence in "
                         f"the mini-batch has to start from position 0. However, got {off[0]}")
    if xp.any(xp.diff(bounds) < 0) or bounds[-1] > n:
        raise ValueError(f"embedding_bag: offsets must be non-decreasing and at most the input "
                         f"length {n}, got {off.tolist()}")
    # NOTE: PyTorch's kernels disagree (float32 vs float64) on indices past a last offset
    # below the input length, so that case is refused rather than given one of the two answers.
    if include_last_offset and off[-1] != n:
        raise ValueError(f"embedding_bag: with include_last_offset, the last offset must be "
                         f"the input length {n}, got offsets {off.tolist()}")
    lengths = xp.diff(bounds)
    bag = xp.repeat(xp.arange(lengths.size), lengths)
    return input.array, bag, per_sample_weights, int(lengths.size)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings (``torch.nn.functional.embedding_bag``).

    Args:
        input: int64 indices: (B, N), B bags of N each, or 1-D with ``offsets``.
        weight: (num_embeddings, dim).
        offsets: for 1-D input, the start of each bag (``offsets[0] == 0``); with
            ``include_last_offset`` the last entry is the end of the last bag.
        mode: ``'sum'``, ``'mean'`` or ``'max'``.
        per_sample_weights: float weights, the shape of ``input``, scaling each row
            (``mode='sum'`` only).
        padding_idx: indices equal to it are left out of their bag (and of a mean's count).

    Returns:
        (B, dim); an empty bag gives zeros.

    Example:
        >>> import chainrule as cr
        >>> w = cr.arange(8.0).reshape(4, 2)
        >>> embedding_bag(cr.tensor([0, 1, 3]), w, cr.tensor([0, 2]), mode="sum").tolist()
        [[2.0, 4.0], [6.0, 7.0]]
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    if not isinstance(input, Tensor):
        input = Tensor._wrap(xp.asarray(input))
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag: indices must be an integer tensor, got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding_bag: weight has to be a 2D Tensor, but got Tensor of "
                         f"dimension {weight.ndim}")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights "
                         f"({tuple(per_sample_weights.shape)}) is not None, then it must "
                         f"have the same shape as the input ({tuple(input.shape)})")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}')")
    flat, bag, psw, n_bags = _bags(input, offsets, include_last_offset, per_sample_weights)
    num = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        bad = sorted(set(flat[(flat < 0) | (flat >= num)].tolist()))[:5]
        raise IndexError(f"embedding_bag: indices {bad} are out of range for {num} embeddings "
                         f"(valid: 0..{num - 1})")
    keep = xp.ones(flat.shape, bool) if padding_idx is None else flat != padding_idx % num
    ids, bag = flat[keep], bag[keep]
    rows = weight[ids]  # (K, dim)
    counts = xp.bincount(bag, minlength=n_bags)
    if mode == "max" and ids.size:
        slot = xp.arange(ids.size) - (xp.cumsum(counts) - counts)[bag]  # position in its bag
        table = xp.full((n_bags, int(counts.max())), ids.size)  # ids.size: the −∞ row below
        table[bag, slot] = xp.arange(ids.size)
        floor = Tensor._wrap(xp.full((1, weight.shape[1]), -xp.inf, weight.dtype))
        best = cat([rows, floor])[table].max(dim=1).values
        return where(Tensor._wrap(counts[:, None] > 0), best, 0.0)
    if psw is not None:
        rows = rows * psw[Tensor._wrap(xp.flatnonzero(keep))].unsqueeze(-1)
    dim = weight.shape[1]
    index = Tensor._wrap(xp.broadcast_to(bag[:, None], (bag.size, dim)))
    out = Tensor._wrap(xp.zeros((n_bags, dim), rows.dtype)).scatter_add(0, index, rows)
    if mode == "mean":
        out = out * Tensor._wrap((1.0 / xp.maximum(counts, 1)).astype(rows.dtype)[:, None])
    return out


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embedding rows, without building the per-index
    embeddings (``torch.nn.EmbeddingBag``).

    Args:
        num_embeddings: size of the table; embedding_dim: size of each vector.
        mode: ``'sum'``, ``'mean'`` (default) or ``'max'``.
        include_last_offset: ``offsets`` ends with the end of the last bag.
        padding_idx: a row initialised to zeros, left out of every bag.

    Shape:
        input (B, N) int64, or (L,) with offsets (B,) (or (B + 1,)) → (B, embedding_dim).

    Attributes:
        weight: (num_embeddings, embedding_dim), initialised N(0, 1) (padding row zero).

    Example:
        >>> import chainrule as cr
        >>> bag = cr.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(cr.tensor([1, 2, 4, 5, 4]), cr.tensor([0, 2])).shape
        chainrule.Size([2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight: Tensor | None = None,
                 include_last_offset: bool = False, padding_idx: int | None = None,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError("EmbeddingBag: max_norm, scale_grad_by_freq and sparse "
                                      "are not supported")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got "
                             f"{mode!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"EmbeddingBag: padding_idx {padding_idx} must be within "
                                 f"num_embeddings ({num_embeddings})")
            padding_idx %= num_embeddings
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.mode = mode
        self.include_last_offset = include_last_offset
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(xp.empty((num_embeddings, embedding_dim),
                                             float_or_default(dtype)))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"EmbeddingBag: _weight of shape {tuple(_weight.shape)} does "
                                 f"not match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.array[self.padding_idx] = 0

    def forward(self, input: Tensor, offsets: Tensor | None = None,
                per_sample_weights: Tensor | None = None) -> Tensor:
        return embedding_bag(input, self.weight, offsets, mode=self.mode,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=self.include_last_offset,
                             padding_idx=self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, mode: str = "mean",
                        include_last_offset: bool = False,
                        padding_idx: int | None = None) -> EmbeddingBag:
        """An ``EmbeddingBag`` holding ``embeddings`` (2-D); frozen unless told."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embeddings parameter is expected to be 2-dimensional, got shape "
                             f"{tuple(embeddings.shape)}")
        bag = cls(*embeddings.shape, mode=mode, _weight=embeddings,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode='{self.mode}'"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
