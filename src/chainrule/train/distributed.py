"""The fit loop on several ranks (``chainrule.distributed`` initialised, world size > 1).

Every rank runs the same loop over its shard of the batches: of each run of ``world_size``
consecutive batches, rank r takes the r-th (a last, incomplete run is left out, so all ranks
take the same number of steps and one step on N ranks is one step on N batches). At the start
rank 0's weights, buffers and random seed go to every rank; during each backward the
gradients are averaged across ranks (by a :class:`~chainrule.distributed.reducer.Reducer`,
unless the model already is a ``DistributedDataParallel``); epoch logs are averaged over all
ranks' samples, so every rank sees the same numbers and callbacks decide alike. Only rank 0
prints and writes files (callbacks with ``main_process_only``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from chainrule.distributed import process_group


def world() -> Any:
    """The process group when training is distributed over more than one rank, else None."""
    w = process_group._world
    return w if w is not None and w.size > 1 else None


def is_main() -> bool:
    """True on rank 0, and when not distributed."""
    w = world()
    return w is None or w.rank == 0


def average(sums: dict[str, float], count: int) -> tuple[dict[str, float], int]:
    """Sum size-weighted log sums and sample counts over the ranks (sorted keys: every rank
    must log the same names)."""
    w = world()
    if w is None:
        return sums, count
    keys = sorted(sums)
    buf = np.array([sums[k] for k in keys] + [count], dtype=np.float64)
    in_place = process_group.mpi().IN_PLACE
    w.run(lambda comm: comm.Allreduce(in_place, buf), "fit: averaging logs")
    return dict(zip(keys, buf[:-1].tolist())), int(buf[-1])


def eval_shard(batches: Iterable[Any]) -> Iterable[Any]:
    """Rank r's evaluation batches: every world_size-th from the r-th (all batches are used)."""
    w = world()
    if w is None or _presharded(batches):
        return batches
    return (b for i, b in enumerate(batches) if i % w.size == w.rank)


class DataParallelFit:
    """Sets a model up for the distributed fit loop and shards its batches."""

    def __init__(self, model: Any) -> None:
        from chainrule import random
        from chainrule.distributed.reducer import Reducer
        from chainrule.nn.parallel import DistributedDataParallel
        from chainrule.nn.parallel.distributed import sync_from_rank0

        self.world = world()
        module = model.module if hasattr(model, "module") else model
        seed = np.array([random.numpy_generator().integers(2**31)], dtype=np.int64)
        sync_from_rank0(self.world, [_Holder(seed)])
        random.manual_seed(int(seed[0]))
        self.reducer = None
        if not isinstance(module, DistributedDataParallel):
            named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
            sync_from_rank0(self.world, [p for _, p in module.named_parameters()]
                            + list(module.buffers()))
            self.reducer = Reducer(self.world, [p for _, p in named], [n for n, _ in named])
            self.reducer.check_same_parameters()

    def step(self, step: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """``step`` with the gradient averaging armed before each batch."""
        if self.reducer is None:
            return step
        reducer = self.reducer

        def synced(batch: Any) -> Any:
            reducer.prepare()
            return step(batch)
        return synced

    def shard(self, batches: Iterable[Any]) -> Iterator[Any]:
        """Rank r's training batches (see the module docstring)."""
        if _presharded(batches):
            yield from batches
            return
        run: list[Any] = []
        for b in batches:
            run.append(b)
            if len(run) == self.world.size:
                yield run[self.world.rank]
                run = []

    def steps(self, steps: int | None) -> int | None:
        return None if steps is None else steps // self.world.size

    def close(self) -> None:
        if self.reducer is not None:
            self.reducer.remove()


class _Holder:
    """A bare array with ``.array``, for ``sync_from_rank0``."""

    def __init__(self, data: np.ndarray) -> None:
        self.array = data


def _presharded(batches: Iterable[Any]) -> bool:
    """A DataLoader over a DistributedSampler already yields this rank's share."""
    from chainrule.data.distributed import DistributedSampler

    return isinstance(getattr(batches, "sampler", None), DistributedSampler)
