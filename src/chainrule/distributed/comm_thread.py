"""The communication thread: the MPI calls of a process group run here, one after another,
unless the calling thread runs one itself while this thread has nothing to do.

A collective handed to the thread runs as an ordinary blocking MPI call (Open MPI's tuned
algorithms, full bandwidth; mpi4py releases the GIL inside it) while the main thread goes on
computing, which is how gradient all-reduces overlap the backward pass. Calls run in the order
they were submitted, so ranks that submit the same sequence issue the same sequence of
collectives. Waiting for a result is bounded by the group's timeout.

A call that the submitting thread runs itself while this one is idle (a latency-bound
all-reduce, where the hand-off to this thread and back would cost more than the call) cannot
be interrupted, so while it runs this thread watches it: ``on_stuck`` is called for one that
has not returned within the timeout.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any


class DistributedError(RuntimeError):
    """A collective failed: ranks disagreed about a tensor, or one did not arrive in time."""


def missing_rank(what: str, timeout: float, rank: int, size: int) -> str:
    """The message for a collective that the other ranks did not join within ``timeout``."""
    return (f"{what}: rank {rank} of {size} waited {timeout:g} s for the other ranks; one of "
            "them is missing (it died, hangs, or never called this collective)")


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
            raise DistributedError(missing_rank(what, timeout, rank, size))
        if self.error is not None:
            raise DistributedError(f"{what}: {self.error}") from self.error
        return self.result


class CommThread:
    """A daemon thread running submitted calls in order, and watching the calls that the
    submitting thread runs itself: ``on_stuck(what)`` is called when one has run for longer
    than ``timeout`` seconds."""

    def __init__(self, timeout: float, on_stuck: Callable[[str], None]) -> None:
        self.timeout, self.on_stuck = timeout, on_stuck
        self.queue: queue.SimpleQueue[Pending | None] = queue.SimpleQueue()
        self.last: Pending | None = None  # the latest submitted call: idle once it has run
        self.here: str | None = None  # what the submitting thread is running itself, if any
        self.here_calls = 0  # how many calls it has started itself
        self.thread = threading.Thread(target=self._run, name="chainrule-mpi", daemon=True)
        self.thread.start()

    def submit(self, fn: Callable[[], Any]) -> Pending:
        self.last = pending = Pending(fn)
        self.queue.put(pending)
        return pending

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join()

    def _run(self) -> None:
        period = max(0.01, min(1.0, self.timeout / 4))
        seen, since = 0, 0.0  # the call running here at the last look (its number), and since
        while True:
            try:
                pending = self.queue.get(timeout=period)
            except queue.Empty:
                what, calls, now = self.here, self.here_calls, time.monotonic()
                if what is None or calls != seen:
                    seen, since = (calls if what is not None else 0), now
                elif now - since > self.timeout:
                    self.on_stuck(what)
                continue
            if pending is None:
                return
            try:
                pending.result = pending.fn()
            except BaseException as e:  # handed to the waiting thread
                pending.error = e
            pending.event.set()
