"""The communication thread: every MPI call of a process group runs here, one after another.

A collective handed to the thread runs as an ordinary blocking MPI call (Open MPI's tuned
algorithms, full bandwidth; mpi4py releases the GIL inside it) while the main thread goes on
computing, which is how gradient all-reduces overlap the backward pass. Calls run in the order
they were submitted, so ranks that submit the same sequence issue the same sequence of
collectives. Waiting for a result is bounded by the group's timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class DistributedError(RuntimeError):
    """A collective failed: ranks disagreed about a tensor, or one did not arrive in time."""


class Pending:
    """A submitted call: ``wait`` returns its result or raises its error."""

    __slots__ = ("fn", "event", "result", "error")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn, self.event = fn, threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def is_completed(self) -> bool:
        return self.event.is_set()

    def wait(self, timeout: float, what: str, rank: int, size: int) -> Any:
        if not self.event.wait(timeout):
            raise DistributedError(
                f"{what}: rank {rank} of {size} waited {timeout:g} s for the other ranks; one "
                "of them is missing (it died, hangs, or never called this collective)")
        if self.error is not None:
            raise DistributedError(f"{what}: {self.error}") from self.error
        return self.result


class CommThread:
    """A daemon thread running submitted calls in order."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="chainrule-mpi", daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[[], Any]) -> Pending:
        pending = Pending(fn)
        self.queue.put(pending)
        return pending

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        while (pending := self.queue.get()) is not None:
            try:
                pending.result = pending.fn()
            except BaseException as e:  # handed to the waiting thread
                pending.error = e
            pending.event.set()
