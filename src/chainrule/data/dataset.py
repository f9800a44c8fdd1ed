"""Datasets: the map-style ``Dataset`` protocol, ``TensorDataset``, ``Subset``, ``random_split``,
the combinations ``ConcatDataset`` (one after another) and ``StackDataset`` (side by side),
and the streaming ``IterableDataset`` with ``ChainDataset``."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.random import Generator, numpy_generator
from chainrule.tensor import Tensor


class Dataset:
    """A map-style dataset: ``dataset[i]`` is one sample, ``len(dataset)`` the number of them.

    Example:
        >>> import chainrule as cr
        >>> class Squares(cr.data.Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return cr.tensor(float(i * i))
        >>> [batch.tolist() for batch in cr.data.DataLoader(Squares(), batch_size=2)]
        [[0.0, 1.0], [4.0, 9.0]]
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is missing '__getitem__'")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} is missing '__len__'")


class IterableDataset(Dataset):
    """A stream of samples: ``iter(dataset)`` yields them (for data read as it comes, such
    as lines of a text corpus). With DataLoader workers, each worker iterates its own copy;
    ``get_worker_info()`` inside ``__iter__`` tells it which share to yield.

    Example:
        >>> import chainrule as cr
        >>> class Count(cr.data.IterableDataset):
        ...     def __iter__(self):
        ...         return iter(cr.arange(5.0))
        >>> [b.tolist() for b in cr.data.DataLoader(Count(), batch_size=2)]
        [[0.0, 1.0], [2.0, 3.0], [4.0]]
    """

    def __iter__(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is missing '__iter__'")

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it "
                        "instead of indexing it")

    def __len__(self) -> int:  # (TypeError, as for any object without a length)
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another.

    Example:
        >>> import chainrule as cr
        >>> class Range(cr.data.IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n))
        >>> list(ChainDataset([Range(2), Range(3)]))
        [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets: Sequence[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Any:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)  # type: ignore[arg-type]


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of tensors that share their first dimension.

    Example:
        >>> import chainrule as cr
        >>> ds = TensorDataset(cr.zeros(5, 2), cr.arange(5))
        >>> len(ds), ds[3][1].item()
        (5, 3)
    """

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        if not self.tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = self.tensors[0].shape[0] if self.tensors[0].ndim else 0
        if any(t.ndim == 0 or t.shape[0] != n for t in self.tensors):
            raise ValueError("Size mismatch between tensors: first dimensions "
                             f"{[t.shape[0] if t.ndim else None for t in self.tensors]}")

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor._wrap(t.array[index]) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    Example:
        >>> import chainrule as cr
        >>> ds = cr.data.TensorDataset(cr.arange(10))
        >>> sub = cr.data.Subset(ds, [0, 5, 9])
        >>> len(sub), sub[1]
        (3, (tensor(5),))
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets (``torch.utils.data.random_split``).

    Args:
        lengths: sizes, or fractions summing to 1 (floors, then the remainder spread one by one
            over the first subsets, as in PyTorch).
        generator: the seeded stream for the permutation (default: the global one).

    Example:
        >>> import chainrule as cr
        >>> ds = cr.data.TensorDataset(cr.arange(10))
        >>> train, val = cr.data.random_split(ds, [0.8, 0.2],
        ...     generator=cr.Generator().manual_seed(0))
        >>> len(train), len(val)
        (8, 2)
    """
    n = len(dataset)
    if all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        sizes = [int(s) for s in lengths]
        if any(s < 0 for s in sizes) or any(s != f for s, f in zip(sizes, lengths)):
            raise ValueError(f"lengths must be non-negative integers or fractions, got {lengths}")
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset! "
                         f"({sum(sizes)} != {n})")
    perm = numpy_generator(generator).permutation(n).tolist()
    offsets = xp.cumsum([0, *sizes]).tolist()
    return [Subset(dataset, perm[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]


class ConcatDataset(Dataset):
    """Several datasets one after another: index i reaches the dataset it falls in.

    Example:
        >>> import chainrule as cr
        >>> ds = ConcatDataset([cr.data.TensorDataset(cr.zeros(2)),
        ...                     cr.data.TensorDataset(cr.ones(3))])
        >>> len(ds), ds[2][0].item(), ds[-1][0].item()
        (5, 1.0, 1.0)
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes, total = [], 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} out of range for length {len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class StackDataset(Dataset):
    """Datasets of one length side by side: sample i is the tuple (or, given by keyword, the
    dict) of their i-th samples.

    Example:
        >>> import chainrule as cr
        >>> ds = StackDataset(image=cr.data.TensorDataset(cr.zeros(2, 3)),
        ...                   label=cr.data.TensorDataset(cr.arange(2)))
        >>> sorted(ds[1]), len(ds)
        (['image', 'label'], 2)
    """

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        parts = list(args) or list(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets: Any = tuple(args) if args else dict(kwargs)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)
