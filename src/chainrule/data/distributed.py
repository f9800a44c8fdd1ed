"""``DistributedSampler``: each rank's share of a dataset's indices
(``torch.utils.data.distributed.DistributedSampler``)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

from chainrule.data.sampler import Sampler
from chainrule.random import Generator


class DistributedSampler(Sampler):
    """The indices rank ``rank`` of ``num_replicas`` visits in an epoch.

    The index list (a permutation seeded by ``seed + epoch`` when ``shuffle``) is padded by
    repeating its start until it divides evenly, or, with ``drop_last``, cut to the largest
    multiple of ``num_replicas``; rank r takes every ``num_replicas``-th index from position r.
    Every rank gets ``num_samples`` indices, so all ranks run the same number of steps. All
    ranks must use the same ``seed``; call ``set_epoch(epoch)`` before each epoch for a new
    order.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: number of ranks (default: the process group's world size).
        rank: this rank (default: the process group's rank).
        shuffle: permute the indices every epoch.
        seed: the shuffling seed, the same on every rank.
        drop_last: drop the tail instead of padding.

    Example:
        >>> s = DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False)
        >>> list(s), len(s)
        ([1, 5, 9], 3)
    """

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from chainrule import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError("DistributedSampler: num_replicas and rank default to the "
                                   "process group's, but init_process_group has not been called")
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be >= 1, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank = num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator(self.seed + self.epoch)
            indices = [int(i) for i in g.np.permutation(n)]
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[:self.total_size]
        else:
            padding = self.total_size - len(indices)
            indices += (indices * math.ceil(padding / len(indices)))[:padding] if padding else []
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` in the shuffling seed, so each epoch has its own order."""
        self.epoch = epoch
