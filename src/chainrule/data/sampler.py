"""Samplers: the order in which a ``DataLoader`` visits a dataset's indices
(``torch.utils.data`` names and semantics)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any

from chainrule.backend import xp
from chainrule.random import Generator, numpy_generator
from chainrule.tensor import Tensor


class Sampler:
    """Base class: an iterable over dataset indices (and, where known, its length).

    Example:
        >>> import chainrule as cr
        >>> class Reverse(cr.data.Sampler):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter(range(self.n - 1, -1, -1))
        ...     def __len__(self):
        ...         return self.n
        >>> ds = cr.data.TensorDataset(cr.arange(4))
        >>> [b[0].tolist() for b in cr.data.DataLoader(ds, batch_size=2, sampler=Reverse(4))]
        [[3, 2], [1, 0]]
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """Indices 0, 1, …, len(data_source) − 1 in order.

    Example:
        >>> import chainrule as cr
        >>> list(cr.data.SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


_BLOCK = 4096
"""Indices drawn at once by a ``RandomSampler`` with replacement."""


class RandomSampler(Sampler):
    """A fresh random permutation of the indices every epoch, or, with ``replacement``,
    ``num_samples`` indices drawn uniformly with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: how many indices per epoch (default: the dataset's length).
        generator: the ``chainrule.Generator`` to draw from (default: the global one), so a
            seeded generator gives a reproducible order.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> sorted(cr.data.RandomSampler(range(5)))
        [0, 1, 2, 3, 4]
        >>> len(cr.data.RandomSampler(range(5), replacement=True, num_samples=8))
        8
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        """Draws lazily, a block at a time, so ``num_samples`` may exceed memory (PyTorch draws
        blocks of 32 with replacement and one permutation at a time without)."""
        n, rng, total = len(self.data_source), numpy_generator(self.generator), self.num_samples
        if self.replacement:
            for start in range(0, total, _BLOCK):
                yield from rng.integers(0, n, min(_BLOCK, total - start)).tolist()
            return
        for start in range(0, total, max(n, 1)):  # whole permutations, the last one cut
            yield from rng.permutation(n)[:total - start].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order every epoch.

    Example:
        >>> import chainrule as cr
        >>> sorted(cr.data.SubsetRandomSampler([2, 4, 6]))
        [2, 4, 6]
    """

    def __init__(self, indices: Sequence[int], generator: Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        order = numpy_generator(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (with or
    without replacement), e.g. to rebalance classes.

    Example:
        >>> import chainrule as cr
        >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 4, generator=cr.Generator(0))
        >>> list(s)
        [1, 1, 1, 1]
    """

    def __init__(self, weights: Sequence[float] | Tensor, num_samples: int,
                 replacement: bool = True, generator: Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        w = xp.asarray(weights.array if isinstance(weights, Tensor) else weights, xp.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if (w < 0).any() or not xp.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                               f"without replacement from {int((w > 0).sum())} non-zero weights")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rng = numpy_generator(self.generator)
        picks = rng.choice(len(self.weights), self.num_samples, replace=self.replacement,
                           p=self.weights / self.weights.sum())
        return iter(picks.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``).

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
