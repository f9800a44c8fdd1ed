"""``DataLoader``: batches of a dataset, in the order of a sampler (shuffled by a seeded
generator, by default), or, for an ``IterableDataset``, in the order its stream yields them."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.data.dataset import Dataset, IterableDataset, Subset, TensorDataset
from chainrule.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from chainrule.data.worker_pool import WorkerPool
from chainrule.random import Generator, numpy_generator
from chainrule.tensor import Tensor


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate`` does.

    Tensors and arrays are stacked along a new first dimension; Python floats become a float64
    tensor, ints int64, bools bool; dicts, tuples and lists are collated field by field (tuples
    and lists give lists, namedtuples stay namedtuples); strings stay a list.

    Example:
        >>> import chainrule as cr
        >>> batch = cr.data.default_collate([(cr.tensor([1.0, 2.0]), 0), (cr.tensor([3.0,
        ...     4.0]), 1)])
        >>> batch
        [tensor([[1., 2.],
                [3., 4.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return Tensor._wrap(xp.stack([b.array for b in batch]))
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
        num_workers: how many worker processes load batches (``0``: the calling process).
            Batches come back in sampler order and are the same for any value.
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted; warns, as PyTorch without an accelerator does, that there is no
            device memory to pin.
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        timeout: seconds to wait for a batch from the workers (``0``: no limit).
        worker_init_fn: called in each worker process with its id, after seeding.
        multiprocessing_context: start method name (``"fork"``, ``"spawn"``, ...) or context.
        generator: the ``chainrule.Generator`` that shuffles (default: the global one), so a
            seeded generator makes the order reproducible and checkpointable.
        prefetch_factor: batches loaded ahead per worker (default 2 with workers).
        persistent_workers: keep the worker processes between epochs.
        in_order: with workers, give batches in sampler order (``False``: as they arrive).

    Worker ``i`` seeds Python's ``random`` and chainrule's global generator with
    ``base_seed + i`` (see ``get_worker_info()``); an error in a worker is raised again in the
    main process, naming the worker.

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
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 in_order: bool = True) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        streaming = isinstance(dataset, IterableDataset)
        if streaming and shuffle:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                             f"option, but got shuffle={shuffle}")
        if streaming and (sampler is not None or batch_sampler is not None):
            what = "sampler" if sampler is not None else "batch_sampler"
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified {what} "
                             f"option, but got {what}={sampler or batch_sampler}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif (batch_size is None and not streaming) or isinstance(batch_size, bool) or (
                batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0)):
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
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.timeout = timeout
        self.in_order = in_order
        self._pool: WorkerPool | None = None
        self.pin_memory = pin_memory
        self.collate_fn = collate_fn or default_collate
        self._own_order = sampler is None and batch_sampler is None
        self._streaming = streaming
        if streaming:
            self.sampler = self.batch_sampler = None
            return
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if self.shuffle
                       else SequentialSampler(dataset))
        self.sampler = sampler
        self.batch_sampler = (batch_sampler if batch_sampler is not None
                              else BatchSampler(sampler, batch_size, drop_last))

    def __len__(self) -> int:
        if self._streaming:  # from the dataset's own length, where it has one
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        if self.pin_memory:  # as a PyTorch build without an accelerator warns
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=2)
        if self._streaming:
            stream = StreamFetcher(self.dataset, self.collate_fn, self.batch_size,
                                   self.drop_last)
            if self.num_workers == 0:
                return stream.batches(iter(self.dataset))
            return self._from_workers(stream)
        fetch = Fetcher(self.dataset, self.collate_fn)
        if self.num_workers == 0:
            return map(fetch, self._batches())
        return self._from_workers(fetch)

    def _from_workers(self, fetch: Fetcher) -> Iterator[Any]:
        """The batches fetched by the worker processes (kept between epochs when
        ``persistent_workers``, else started for this epoch and stopped after it)."""
        pool = self._pool
        if pool is None or not pool.alive:
            pool = WorkerPool(fetch, self.num_workers, self.prefetch_factor or 0,
                              worker_seed(self.generator), self.worker_init_fn, self.timeout,
                              self.multiprocessing_context)
            if self.persistent_workers:
                self._pool = pool
        try:
            if self._streaming:
                yield from pool.run_streams(self.in_order)
            else:
                yield from pool.run(self._batches(), self.in_order)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

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


class Fetcher:
    """Turns a batch of indices into a batch: one fancy index into the arrays of a
    ``TensorDataset`` with the default collate, else ``collate_fn`` over the samples. Worker
    processes receive it (with its ``dataset``) when they start."""

    def __init__(self, dataset: Dataset, collate_fn: Callable[[list[Any]], Any]) -> None:
        self.dataset = dataset
        self.collate_fn = collate_fn
        self.source = _whole_arrays(dataset) if collate_fn is default_collate else None

    def __call__(self, idx: Any) -> Any:
        if self.source is not None:
            tensors, rows = self.source
            idx = xp.asarray(idx, dtype=xp.int64)
            idx = idx if rows is None else rows[idx]
            return [Tensor._wrap(t.array[idx]) for t in tensors]
        return self.collate_fn([self.dataset[int(i)] for i in idx])


class StreamFetcher:
    """Batches of an ``IterableDataset``: ``batch_size`` samples at a time, collated (or
    each sample alone when ``batch_size`` is None). In a worker process it is called with the
    epoch and keeps that worker's iterator, returning ``END`` once the stream is exhausted."""

    END = "chainrule.data: end of stream"

    def __init__(self, dataset: Any, collate_fn: Callable[[list[Any]], Any],
                 batch_size: int | None, drop_last: bool) -> None:
        self.dataset, self.collate_fn = dataset, collate_fn
        self.batch_size, self.drop_last = batch_size, drop_last
        self._epoch: Any = None
        self._it: Any = None

    def batches(self, it: Iterator[Any]) -> Iterator[Any]:
        while True:
            batch = self._next(it)
            if batch is self.END:
                return
            yield batch

    def _next(self, it: Iterator[Any]) -> Any:
        if self.batch_size is None:
            sample = next(it, self.END)
            return sample if sample is self.END else _converted(sample)
        samples = list(itertools.islice(it, self.batch_size))
        if not samples or (self.drop_last and len(samples) < self.batch_size):
            return self.END
        return self.collate_fn(samples)

    def __call__(self, epoch: Any) -> Any:
        if epoch != self._epoch:
            self._epoch, self._it = epoch, iter(self.dataset)
        return self._next(self._it)


def _converted(sample: Any) -> Any:
    """An unbatched sample as PyTorch's ``default_convert`` leaves it: arrays as tensors."""
    if isinstance(sample, xp.ndarray):
        return Tensor._wrap(sample)
    if isinstance(sample, (list, tuple)):
        return type(sample)(_converted(s) for s in sample)
    if isinstance(sample, dict):
        return {k: _converted(v) for k, v in sample.items()}
    return sample


def worker_seed(generator: Generator | None) -> int:
    """A base seed for the workers of one loader iteration (PyTorch draws one per iterator),
    derived from ``generator`` (default: the global one) without advancing its stream, so
    the batches are the same for any ``num_workers``."""
    seq = numpy_generator(generator).bit_generator.seed_seq.spawn(1)[0]
    return int(seq.generate_state(1, xp.uint64)[0] >> 1)


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
