"""The DataLoader's worker processes seen from the main process: start them, hand out index
batches round-robin with ``prefetch_factor`` batches in flight per worker, put the results back
in sampler order, re-raise a worker's error, and shut the workers down."""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from chainrule.data.worker import POLL_S, ExceptionWrapper, worker_loop


class WorkerPool:
    """``num_workers`` processes fetching batches with ``fetch`` (which holds the dataset).

    Args:
        fetch: picklable callable, index batch → batch; ``fetch.dataset`` is the dataset.
        num_workers: processes to start.
        prefetch_factor: batches handed to each worker ahead of the one being consumed.
        base_seed: worker ``i`` seeds its generators with ``base_seed + i``.
        worker_init_fn: called in each worker with its id after seeding.
        timeout: seconds to wait for a batch before ``RuntimeError`` (0: no limit).
        context: a ``multiprocessing`` context or start-method name (default: the platform's).
    """

    def __init__(self, fetch: Callable[[Any], Any], num_workers: int, prefetch_factor: int,
                 base_seed: int, worker_init_fn: Callable[[int], None] | None = None,
                 timeout: float = 0, context: Any = None) -> None:
        ctx = (multiprocessing.get_context(context) if context is None or
               isinstance(context, str) else context)
        self.num_workers, self.prefetch_factor, self.timeout = (num_workers, prefetch_factor,
                                                                timeout)
        self.result_queue = ctx.Queue()
        self.index_queues = []
        self.workers = []
        self.epoch = 0
        for i in range(num_workers):
            index_queue = ctx.Queue()
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(fetch, index_queue, self.result_queue, i, num_workers,
                                  base_seed, worker_init_fn, os.getpid()))
            w.start()
            self.index_queues.append(index_queue)
            self.workers.append(w)
        self._finalizer = weakref.finalize(self, _shutdown, self.workers, self.index_queues,
                                           self.result_queue)

    def run(self, batches: Iterable[Any], in_order: bool = True) -> Iterator[Any]:
        """The fetched batches of one epoch, in the order of ``batches`` (or, unless
        ``in_order``, as they arrive)."""
        self.epoch += 1
        epoch, todo = self.epoch, iter(batches)
        sent, done, ready = 0, 0, {}

        def send() -> bool:
            nonlocal sent
            indices = next(todo, None)
            if indices is None:
                return False
            self.index_queues[sent % self.num_workers].put((epoch, sent, indices))
            sent += 1
            return True

        for _ in range(max(1, self.prefetch_factor * self.num_workers)):
            if not send():
                break
        while done < sent:
            while (done not in ready) if in_order else not ready:
                got_epoch, position, data = self._get()
                if got_epoch == epoch:  # results of an abandoned epoch are dropped
                    ready[position] = data
            data = ready.pop(done if in_order else next(iter(ready)))
            done += 1
            send()
            if isinstance(data, ExceptionWrapper):
                data.reraise()
            yield data

    def run_streams(self, in_order: bool = True) -> Iterator[Any]:
        """One epoch of an ``IterableDataset``: every worker iterates its own copy (``fetch``
        is a ``StreamFetcher``, called with the epoch); batches come round-robin over the
        workers (or, unless ``in_order``, as they arrive) until every stream has ended."""
        from chainrule.data.dataloader import StreamFetcher

        self.epoch += 1
        epoch, sent = self.epoch, 0
        outstanding: list[list[int]] = [[] for _ in range(self.num_workers)]
        ready: dict[int, Any] = {}
        active = list(range(self.num_workers))

        def ask(w: int) -> None:
            nonlocal sent
            self.index_queues[w].put((epoch, sent, epoch))
            outstanding[w].append(sent)
            sent += 1

        for w in active:
            for _ in range(max(1, self.prefetch_factor)):
                ask(w)
        turn = 0
        while active:
            if in_order:
                w = active[turn % len(active)]
                position = outstanding[w][0]
                while position not in ready:
                    self._collect(epoch, ready)
            else:
                while not any(p in ready for o in outstanding for p in o[:1]):
                    self._collect(epoch, ready)
                w = next(w for w in active if outstanding[w] and outstanding[w][0] in ready)
                position = outstanding[w][0]
            outstanding[w].pop(0)
            data = ready.pop(position)
            if isinstance(data, ExceptionWrapper):
                data.reraise()
            if isinstance(data, str) and data == StreamFetcher.END:
                active.remove(w)  # (its other requests answer END too; they are dropped)
                continue
            ask(w)
            turn += 1
            yield data

    def _collect(self, epoch: int, ready: dict[int, Any]) -> None:
        got_epoch, position, data = self._get()
        if got_epoch == epoch:  # results of an abandoned epoch are dropped
            ready[position] = data

    def _get(self) -> Any:
        start = time.monotonic()
        while True:
            wait = POLL_S if not self.timeout else min(
                POLL_S, self.timeout - (time.monotonic() - start))
            try:
                return self.result_queue.get(timeout=max(wait, 0.0))
            except queue.Empty:
                dead = [w.pid for w in self.workers if not w.is_alive()]
                if dead:
                    self.shutdown()
                    pids = ", ".join(str(p) for p in dead)
                    raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited "
                                       "unexpectedly") from None
                if self.timeout and time.monotonic() - start >= self.timeout:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} "
                                       "seconds") from None

    def shutdown(self) -> None:
        """Stop the workers (asked to exit, then terminated after a grace period)."""
        self._finalizer()

    @property
    def alive(self) -> bool:
        return self._finalizer.alive


def _shutdown(workers: list[Any], index_queues: list[Any], result_queue: Any) -> None:
    for q in index_queues:
        try:
            q.put(None)
        except (OSError, ValueError):  # queue already closed
            pass
    deadline = time.monotonic() + 5.0
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
        if w.is_alive():
            w.terminate()
            w.join()
    for q in [*index_queues, result_queue]:
        q.cancel_join_thread()
        q.close()
