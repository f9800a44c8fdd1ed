"""What runs inside a DataLoader worker process: the seeded fetch loop, ``get_worker_info``,
and ``ExceptionWrapper``, which carries a worker's error back to the main process."""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

from chainrule import random as _random

POLL_S = 1.0
"""How often a waiting worker (or the main process) checks that the other side is alive."""


@dataclass(frozen=True)
class WorkerInfo:
    """The current worker process: ``id`` (0 to ``num_workers`` − 1), ``num_workers``, the
    ``seed`` its random generators were seeded with, and its own copy of the ``dataset``.

    Example:
        >>> import chainrule as cr
        >>> cr.data.get_worker_info() is None
        True
        >>> info = cr.data.WorkerInfo(id=0, num_workers=2, seed=7, dataset=None)
        >>> info.id, info.num_workers
        (0, 2)
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process, its ``WorkerInfo``; ``None`` in the main process
    (``torch.utils.data.get_worker_info``). A dataset or ``worker_init_fn`` reads it to split
    work between workers or to seed a library of its own.

    Example:
        >>> get_worker_info() is None
        True
    """
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, pickled as its type and formatted traceback; the main
    process re-raises it with the worker named (``Caught ValueError in DataLoader worker
    process 1.``) and the original traceback in the message."""

    def __init__(self, where: str) -> None:
        exc_type, exc, tb = sys.exc_info()
        self.exc_type = exc_type
        self.where = where
        self.msg = "".join(traceback.format_exception(exc_type, exc, tb))

    def reraise(self) -> None:
        assert self.exc_type is not None
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.msg}"
        try:
            exc = self.exc_type(msg)
        except Exception:  # an exception type that takes other arguments
            raise RuntimeError(msg) from None
        raise exc


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed Python's ``random``, chainrule's global generator (with ``base_seed + worker_id``,
    as PyTorch seeds ``random`` and ``torch``) and NumPy's legacy global generator (with a
    mix of both); returns the seed."""
    seed = base_seed + worker_id
    random.seed(seed)
    _random.manual_seed(seed)
    numpy.random.seed(numpy.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(fetch: Callable[[Any], Any], index_queue: Any, result_queue: Any,
                worker_id: int, num_workers: int, base_seed: int,
                init_fn: Callable[[int], None] | None, parent_pid: int) -> None:
    """Fetch the batches whose indices arrive on ``index_queue`` with ``fetch`` (which holds
    the dataset as ``fetch.dataset``) until ``None`` arrives or the main process is gone,
    putting ``(epoch, position, batch or ExceptionWrapper)`` on ``result_queue``."""
    global _worker_info
    seed = seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, getattr(fetch, "dataset", None))
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    if init_fn is not None:
        try:
            init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(where)
    while True:
        try:
            task = index_queue.get(timeout=POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:
                return
            continue
        if task is None:
            return
        epoch, position, indices = task
        if init_error is not None:
            data: Any = init_error
        else:
            try:
                data = fetch(indices)
            except Exception:
                data = ExceptionWrapper(where)
        result_queue.put((epoch, position, data))
