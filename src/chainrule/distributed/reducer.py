"""Gradient averaging in buckets during the backward pass (the engine behind
``DistributedDataParallel`` and the distributed ``fit``).

Parameters are grouped, in reverse registration order (roughly the order backward reaches
them), into buckets of one dtype, each closed once it holds ``bucket_cap_mb`` megabytes (the
first 1 MB, so that communication starts early), as in PyTorch. Each parameter has a
post-accumulate-grad hook: when its gradient is complete it is copied into its bucket's flat
buffer, and when a bucket is full its ``Allreduce`` is handed to the communication thread and
runs while backward goes on. A bucket of at most ``HERE_MAX_BYTES``, or the last one (which
the reducer would wait for at once), is all-reduced by the training thread itself when the
communication thread has nothing left to run: there the hand-off (two thread wake-ups, tens
of microseconds) would cost more than the overlap it buys.
Buckets start in index order on every rank, and each rank's calls run in that order whichever
thread runs them, so the ranks' collectives always match. When the last bucket has started,
the reducer waits for all of them and writes the averages back into the ``.grad``s. Over one
rank (unless ``.grad``s are to be bucket views) the gradients stay as backward left them: the
average over one rank is the gradient itself, and copying it in and out of the buckets cost
the large MLP 5-9 % of its step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.distributed.collectives import all_gather_object
from chainrule.distributed.comm_thread import DistributedError
from chainrule.distributed.process_group import _Group, mpi
from chainrule.tensor import Tensor

FIRST_BUCKET_MB = 1.0
# Up to this size an all-reduce is latency-bound (10-130 us in shared memory, a few hand-offs
# to the communication thread): such a bucket runs on the training thread when that one is idle.
HERE_MAX_BYTES = 256 * 2**10
WHAT = "DistributedDataParallel gradient all_reduce"

NOT_FINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. "
    "This error indicates that your module has parameters that were not used in producing "
    "loss. You can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `DistributedDataParallel`, and by making sure all "
    "`forward` function outputs participate in calculating loss. Parameters that did not "
    "receive a gradient on rank {rank}: {names}")


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer; ``views[k]`` is the
    part of it holding the ``k``-th one's gradient, in the parameter's shape."""

    def __init__(self, index: list[int], params: Sequence[Tensor]) -> None:
        self.index = index
        arrays = [params[i].array for i in index]
        self.flat = np.zeros(sum(a.size for a in arrays), dtype=arrays[0].dtype)
        self.views: list[np.ndarray] = []
        offset = 0
        for a in arrays:
            self.views.append(self.flat[offset:offset + a.size].reshape(a.shape))
            offset += a.size
        self.pending = len(index)
        self.request: Any = None
        self.here = self.flat.nbytes <= HERE_MAX_BYTES  # may run on the training thread
        flat, in_place = self.flat, mpi().IN_PLACE
        self.sum = lambda comm: comm.Allreduce(in_place, flat)  # the call, on a communicator


def build_buckets(params: Sequence[Tensor], bucket_cap_mb: float) -> list[list[int]]:
    """Parameter indices per bucket, as PyTorch assigns them: in reverse order, one dtype per
    bucket, a bucket closed as soon as it holds at least its cap (1 MB for a dtype's first
    bucket, ``bucket_cap_mb`` after), so a large parameter ends the bucket it joins rather than
    waiting in the next one for the parameters before it."""
    buckets: list[list[int]] = []
    open_: dict[Any, tuple[list[int], int]] = {}
    first: set[Any] = set()  # dtypes whose first bucket is closed
    for i in reversed(range(len(params))):
        arr = params[i].array
        index, nbytes = open_.get(arr.dtype, ([], 0))
        index.append(i)
        nbytes += arr.nbytes
        cap = bucket_cap_mb if arr.dtype in first else min(FIRST_BUCKET_MB, bucket_cap_mb)
        if nbytes >= cap * 2**20:
            buckets.append(index)
            first.add(arr.dtype)
            index, nbytes = [], 0
        open_[arr.dtype] = (index, nbytes)
    buckets.extend(index for index, _ in open_.values() if index)
    return buckets


class Reducer:
    """Averages the gradients of ``params`` across the ranks of ``world`` during backward.

    Args:
        world: the process group.
        params: the parameters (requiring grad), in the same order on every rank.
        names: their names, for error messages.
        bucket_cap_mb: the bucket size cap in megabytes.
        gradient_as_bucket_view: leave each averaged ``.grad`` as a view of its bucket, so
            that it is neither copied out after the all-reduce nor (when it is still that
            view, e.g. after ``zero_grad(set_to_none=False)``) copied in before it.
    """

    def __init__(self, world: _Group, params: Sequence[Tensor], names: Sequence[str],
                 bucket_cap_mb: float = 25.0, gradient_as_bucket_view: bool = False) -> None:
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.world, self.params, self.names = world, list(params), list(names)
        self.as_view = gradient_as_bucket_view
        # over one rank the average is each gradient itself: nothing to copy in or out
        self.passthrough = world.size == 1 and not gradient_as_bucket_view
        self.buckets = [_Bucket(index, self.params)
                        for index in build_buckets(self.params, bucket_cap_mb)]
        self.buckets[-1].here = True  # waited for as soon as it starts: nothing to overlap
        self.where = {i: (b, k) for b, bucket in enumerate(self.buckets)
                      for k, i in enumerate(bucket.index)}
        self.armed = False
        self.next_bucket = 0
        self.done: set[int] = set()
        self.used_mask: np.ndarray | None = None
        self.used_request: Any = None
        self.last_request: Any = None  # the latest bucket call handed to the thread
        self.handles = [p.register_post_accumulate_grad_hook(self._hook(i))
                        for i, p in enumerate(self.params)]

    # ---- construction-time agreement ----------------------------------------------------------
    def check_same_parameters(self) -> None:
        """Raise if the ranks' parameters differ in number, shape or dtype (before any data
        moves), naming the first one that differs with each rank's shape."""
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self.names, self.params)]
        everyone: list[Any] = [None] * self.world.size
        all_gather_object(everyone, mine)
        for r, theirs in enumerate(everyone):
            if len(theirs) != len(mine):
                raise DistributedError(
                    f"DistributedDataParallel: rank {r} has {len(theirs)} parameters, rank "
                    f"{self.world.rank} has {len(mine)}")
            for a, b in zip(mine, theirs):
                if a[1:] != b[1:]:
                    raise DistributedError(
                        f"DistributedDataParallel: parameter {a[0]!r} has shape {a[1]} "
                        f"{a[2]} on rank {self.world.rank} but {b[1]} {b[2]} on rank {r}")

    # ---- one iteration ---------------------------------------------------------------------
    def prepare(self, unused: Sequence[int] | None = None) -> None:
        """Expect one backward pass that reaches every parameter except ``unused``.

        ``unused`` is ``None`` unless unused parameters are searched for; then it is a list
        (maybe empty) on every rank, and the ranks also combine which parameters any of them
        used: a parameter no rank used keeps its ``.grad`` untouched, as in PyTorch.
        """
        if self.armed:
            missing = [self.names[i] for i in range(len(self.params)) if i not in self.done]
            self.armed = False
            raise RuntimeError(NOT_FINISHED.format(rank=self.world.rank, names=missing))
        for b in self.buckets:
            b.pending = len(b.index)
            b.request = None
        self.next_bucket = 0
        self.armed = True
        self.done = set()
        if unused is not None:
            self.used_mask = np.ones(len(self.params), dtype=np.int32)
            self.used_mask[list(unused)] = 0
            mask, in_place, op = self.used_mask, mpi().IN_PLACE, mpi().MAX
            self.used_request = self.world.submit(
                lambda comm: comm.Allreduce(in_place, mask, op=op))
        for i in unused or ():
            self._ready(i)

    def _hook(self, i: int) -> Any:
        def hook(_: Tensor) -> None:
            if self.armed and i not in self.done:
                self._ready(i)
        return hook

    def _ready(self, i: int) -> None:
        self.done.add(i)
        b, k = self.where[i]
        bucket = self.buckets[b]
        grad = self.params[i].grad
        if not self.passthrough:
            if grad is None:
                bucket.views[k].fill(0)
            elif grad.array is not bucket.views[k]:
                np.copyto(bucket.views[k], grad.array)
        bucket.pending -= 1
        while (self.next_bucket < len(self.buckets)
               and self.buckets[self.next_bucket].pending == 0):
            self.launch(self.buckets[self.next_bucket])
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self._finish()

    def launch(self, bucket: _Bucket) -> None:
        """Start summing ``bucket``'s buffer across the ranks: on the communication thread,
        or, for a small or the last bucket while that thread is idle, here and now."""
        world = self.world
        if world.size == 1:  # over one rank the sum is the buffer itself
            return
        if bucket.here and world.idle():
            world.run_here(bucket.sum, WHAT)
        else:
            bucket.request = self.last_request = world.submit(bucket.sum)

    def reduced(self, bucket: _Bucket) -> None:
        """Wait until ``bucket``'s buffer holds the sum over the ranks."""
        if bucket.request is None:
            return
        if not bucket.request.is_completed():
            # The calls run in order: waiting once for the last one started wakes this thread
            # once instead of once per bucket.
            self.world.wait(self.last_request, WHAT)
        self.world.wait(bucket.request, WHAT)
        bucket.request = None

    def _finish(self) -> None:
        self.armed = False
        globally_used = None
        if self.used_request is not None:
            self.world.wait(self.used_request, WHAT)
            globally_used, self.used_request = self.used_mask, None
        if self.passthrough:
            return
        scale = 1.0 / self.world.size
        for bucket in self.buckets:
            self.reduced(bucket)
            if self.as_view and self.world.size > 1:
                np.multiply(bucket.flat, scale, out=bucket.flat)
            for i, total in zip(bucket.index, bucket.views):
                if globally_used is not None and not globally_used[i]:
                    continue
                p = self.params[i]
                if self.as_view:
                    if p.grad is None or p.grad.array is not total:
                        p.grad = Tensor._wrap(total)
                elif p.grad is None:
                    p.grad = Tensor._wrap(total * scale)
                else:
                    np.multiply(total, scale, out=p.grad.array)

    def remove(self) -> None:
        """Unregister the hooks."""
        for h in self.handles:
            h.remove()
