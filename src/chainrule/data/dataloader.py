"""``DataLoader``: batches of a dataset, in the order of a sampler (shuffled by a seeded
generator, by default)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from chainrule.random import Generator, numpy_generator
from chainrule.tensor import Tensor


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    Tensors and arrays are stacked along a new first dimension; Python floats become a float64
    tensor, ints int64, bools bool; dicts, tuples and lists are collated field by field (tuples
    and lists give lists, namedtuples stay namedtuples); strings stay a list.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(xp.stack([b.data for b in batch]))
    if isinstance(elem, xp.ndarray | xp.generic):
        return Tensor._wrap(xp.stack([xp.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return Tensor._wrap(xp.array(batch, dtype=xp.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(xp.array(batch, dtype=xp.int64))
    if isinstance(elem, float):
        return Tensor._wrap(xp.array(batch, dtype=xp.float64))
    if isinstance(elem, str | bytes):
        return list(batch)
    if isinstance(elem, Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, arrays, numbers, dicts or "
                    f"lists; found {type(elem).__name__}")


class DataLoader:
    """Iterate over a dataset in batches (``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset.
        batch_size: samples per batch.
        shuffle: draw a fresh permutation at the start of every epoch.
        sampler: the order of the indices instead (exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices, one per batch (exclusive with
            ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: accepted for compatibility; batches are always loaded in the calling
            process (``0`` in PyTorch's terms), so the batches are the same for any value.
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted for compatibility (there is no device memory to pin).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: the ``chainrule.Generator`` that shuffles (default: the global one), so a
            seeded generator makes the order reproducible and checkpointable.

    A ``TensorDataset`` (also inside ``Subset``s, e.g. from ``random_split``) with the default
    collate is batched by indexing its arrays with the whole batch of indices at once (no
    per-sample work); the batches are the same.

    Example:
        >>> import chainrule as cr
        >>> ds = cr.data.TensorDataset(cr.arange(10.0), cr.arange(10))
        >>> [tuple(x.shape) for x, y in DataLoader(ds, batch_size=4)]
        [(4,), (4,), (2,)]
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | Iterable[int] | None = None,
                 batch_sampler: Iterable[Sequence[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False,
                 generator: Generator | None = None) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None or isinstance(batch_size, bool) or not isinstance(
                batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn or default_collate
        self._own_order = sampler is None and batch_sampler is None
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if self.shuffle
                       else SequentialSampler(dataset))
        self.sampler = sampler
        self.batch_sampler = (batch_sampler if batch_sampler is not None
                              else BatchSampler(sampler, batch_size, drop_last))

    def __len__(self) -> int:
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        source = _whole_arrays(self.dataset) if self.collate_fn is default_collate else None
        for idx in self._batches():
            if source is not None:
                tensors, rows = source
                idx = xp.asarray(idx, dtype=xp.int64)
                idx = idx if rows is None else rows[idx]
                yield [Tensor._wrap(t.data[idx]) for t in tensors]
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])

    def _batches(self) -> Iterator[Any]:
        """The index batches: sliced from one permutation array when the loader made its own
        sampler (no Python loop over samples), else from the batch sampler."""
        if not self._own_order:
            yield from self.batch_sampler
            return
        n, bs = len(self.dataset), self.batch_size
        order = numpy_generator(self.generator).permutation(n) if self.shuffle else xp.arange(n)
        stop = n - n % bs if self.drop_last else n  # type: ignore[operator]
        for start in range(0, stop, bs):  # type: ignore[arg-type]
            yield order[start:start + bs]  # type: ignore[operator]


def _whole_arrays(dataset: Dataset) -> tuple[tuple[Tensor, ...], Any] | None:
    """The tensors of a ``TensorDataset`` (possibly inside ``Subset``s) and the rows the
    outer dataset's indices map to (``None``: the identity), so a batch is one fancy index."""
    rows = None
    while isinstance(dataset, Subset):
        sub = xp.asarray(dataset.indices, dtype=xp.int64)
        rows = sub if rows is None else sub[rows]
        dataset = dataset.dataset
    if not isinstance(dataset, TensorDataset):
        return None
    return dataset.tensors, rows
