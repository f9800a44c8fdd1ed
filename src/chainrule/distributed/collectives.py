"""Collectives on tensors, in place, as in ``torch.distributed``: ``all_reduce``,
``broadcast``, ``all_gather``, ``reduce_scatter``, ``gather``, ``scatter``, ``barrier``.

Each runs as a blocking MPI call on the group's communication thread; ``async_op=True``
returns its :class:`Work`, otherwise the call waits for it. Before the data moves, the ranks
exchange a few integers describing the call (operation, shape, dtype), so that a rank calling
a different collective, or with a tensor of another shape, is reported by rank and shape rather
than corrupting data or hanging; a rank that does not arrive within the group's timeout is
reported the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import numpy as np

from chainrule.distributed.comm_thread import DistributedError, Pending
from chainrule.distributed.process_group import _Group, group_or_world, mpi
from chainrule.tensor import Tensor


class ReduceOp(Enum):
    """How ``all_reduce`` and ``reduce_scatter`` combine the ranks' values."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class Work:
    """A collective in flight: ``wait()`` blocks until it is done (and the tensors hold the
    result), ``is_completed()`` asks without blocking."""

    def __init__(self, world: _Group, what: str, pending: Pending,
                 finish: Callable[[], None] | None = None) -> None:
        self.world, self.what, self.pending, self.finish = world, what, pending, finish
        self.done = False

    def is_completed(self) -> bool:
        if not self.done and self.pending.is_completed():
            self.wait()
        return self.done

    def wait(self, timeout: Any = None) -> bool:
        if not self.done:
            self.world.wait(self.pending, self.what)
            self.done = True
            if self.finish is not None:
                self.finish()
        return True


_CODES = {name: i for i, name in enumerate(
    ("all_reduce", "broadcast", "all_gather", "reduce_scatter", "gather", "scatter", "barrier",
     "all_gather_object"))}
_MAX_DIMS = 8


def _agree(world: _Group, what: str, arr: np.ndarray | None, extra: int = 0) -> None:
    """Check that every rank is in the same collective with a tensor of the same shape and
    dtype (and the same ``extra``: root or reduce op); raise naming the ranks that differ."""
    meta = np.full(4 + _MAX_DIMS, -1, dtype=np.int64)
    meta[0], meta[1] = _CODES[what], extra
    if arr is not None:
        meta[2], meta[3] = arr.ndim, ord(arr.dtype.char)
        shape = arr.shape[:_MAX_DIMS - 1] + (int(np.prod(arr.shape[_MAX_DIMS - 1:])),)
        meta[4:4 + len(shape)] = shape
    everyone = np.empty((world.size, meta.size), dtype=np.int64)
    world.run(lambda comm: comm.Allgather(meta, everyone), what)
    if (everyone == meta).all():
        return
    names = {i: name for name, i in _CODES.items()}

    def describe(row: np.ndarray) -> str:
        text = f"in {names.get(int(row[0]), int(row[0]))}"
        if row[2] >= 0:
            dims = tuple(int(d) for d in row[4:4 + min(int(row[2]), _MAX_DIMS)])
            text += f" with shape {dims} {np.dtype(chr(row[3]))}"
        return text + (f" (root or op {int(row[1])})" if row[1] else "")

    ranks = "; ".join(f"rank {r} {describe(row)}" for r, row in enumerate(everyone))
    raise DistributedError(f"{what}: the ranks' calls do not match: {ranks}")


def _mpi_op(op: ReduceOp) -> Any:
    MPI = mpi()
    return {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
            ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}[ReduceOp(op)]


def _buffer(t: Tensor, what: str) -> np.ndarray:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected a chainrule Tensor, got {type(t).__name__}")
    arr = t.array
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


def _start(world: _Group, what: str, call: Callable[[Any], Any],
           finish: Callable[[], None] | None, async_op: bool) -> Work | None:
    work = Work(world, what, world.submit(call), finish)
    if async_op:
        return work
    work.wait()
    return None


def _check_avg(op: ReduceOp, arr: np.ndarray, what: str) -> None:
    if ReduceOp(op) is ReduceOp.AVG and arr.dtype.kind != "f":
        raise ValueError(f"{what}: ReduceOp.AVG needs a floating tensor, got {arr.dtype}")


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Combine ``tensor`` across all ranks with ``op``; every rank gets the result in place.

    Example (on every rank)::

        t = cr.tensor([float(dist.get_rank())])
        dist.all_reduce(t, op=dist.ReduceOp.SUM)   # t == world_size * (world_size - 1) / 2
    """
    world = group_or_world(group, "all_reduce")
    buf = _buffer(tensor, "all_reduce")
    _check_avg(op, buf, "all_reduce")
    _agree(world, "all_reduce", buf, list(ReduceOp).index(ReduceOp(op)))
    mpi_op, in_place = _mpi_op(op), mpi().IN_PLACE

    def finish() -> None:
        if ReduceOp(op) is ReduceOp.AVG:
            buf[...] /= world.size
        if buf is not tensor.array:
            tensor.array[...] = buf

    return _start(world, "all_reduce", lambda comm: comm.Allreduce(in_place, buf, op=mpi_op),
                  finish, async_op)


def broadcast(tensor: Tensor, src: int = 0, group: Any = None,
              async_op: bool = False) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    world = group_or_world(group, "broadcast")
    _check_rank(world, src, "broadcast", "src")
    buf = _buffer(tensor, "broadcast")
    _agree(world, "broadcast", buf, src)
    finish = None if buf is tensor.array else lambda: tensor.array.__setitem__(..., buf)
    return _start(world, "broadcast", lambda comm: comm.Bcast(buf, root=src), finish, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[r]`` with rank r's ``tensor``, on every rank."""
    world = group_or_world(group, "all_gather")
    send = _buffer(tensor, "all_gather")
    _check_list(world, tensor_list, send.shape, "all_gather", "tensor_list")
    _agree(world, "all_gather", send)
    out = np.empty((world.size, *send.shape), dtype=send.dtype)

    def finish() -> None:
        for t, part in zip(tensor_list, out):
            t.array[...] = part

    return _start(world, "all_gather", lambda comm: comm.Allgather(send, out), finish,
                  async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """Reduce ``input_list[r]`` across ranks with ``op`` and put the result in rank r's
    ``output``."""
    world = group_or_world(group, "reduce_scatter")
    recv = _buffer(output, "reduce_scatter")
    _check_avg(op, recv, "reduce_scatter")
    _check_list(world, input_list, recv.shape, "reduce_scatter", "input_list")
    _agree(world, "reduce_scatter", recv, list(ReduceOp).index(ReduceOp(op)))
    send = np.stack([t.array for t in input_list]).astype(recv.dtype, copy=False)
    mpi_op = _mpi_op(op)

    def finish() -> None:
        if ReduceOp(op) is ReduceOp.AVG:
            recv[...] /= world.size
        if recv is not output.array:
            output.array[...] = recv

    return _start(world, "reduce_scatter",
                  lambda comm: comm.Reduce_scatter_block(send, recv, op=mpi_op), finish, async_op)


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int = 0,
           group: Any = None, async_op: bool = False) -> Work | None:
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (only there)."""
    world = group_or_world(group, "gather")
    _check_rank(world, dst, "gather", "dst")
    send = _buffer(tensor, "gather")
    _agree(world, "gather", send, dst)
    out = None
    if world.rank == dst:
        _check_list(world, gather_list, send.shape, "gather", "gather_list")
        out = np.empty((world.size, *send.shape), dtype=send.dtype)
    elif gather_list:
        raise ValueError(f"gather: gather_list must be given on the destination rank {dst} "
                         f"only; rank {world.rank} passed one")

    def finish() -> None:
        if out is not None:
            for t, part in zip(gather_list or [], out):
                t.array[...] = part

    return _start(world, "gather", lambda comm: comm.Gather(send, out, root=dst), finish,
                  async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int = 0,
            group: Any = None, async_op: bool = False) -> Work | None:
    """Send ``scatter_list[r]`` from rank ``src`` into rank r's ``tensor``."""
    world = group_or_world(group, "scatter")
    _check_rank(world, src, "scatter", "src")
    recv = _buffer(tensor, "scatter")
    _agree(world, "scatter", recv, src)
    send = None
    if world.rank == src:
        _check_list(world, scatter_list, recv.shape, "scatter", "scatter_list")
        send = np.stack([t.array for t in scatter_list or []]).astype(recv.dtype, copy=False)
    elif scatter_list:
        raise ValueError(f"scatter: scatter_list must be given on the source rank {src} only; "
                         f"rank {world.rank} passed one")
    finish = None if recv is tensor.array else lambda: tensor.array.__setitem__(..., recv)
    return _start(world, "scatter", lambda comm: comm.Scatter(send, recv, root=src), finish,
                  async_op)


def barrier(group: Any = None, async_op: bool = False) -> Work | None:
    """Wait until every rank has reached this call."""
    world = group_or_world(group, "barrier")
    _agree(world, "barrier", None)
    return _start(world, "barrier", lambda comm: comm.Barrier(), None, async_op)


def all_gather_object(object_list: list[Any], obj: Any, group: Any = None) -> None:
    """Fill ``object_list[r]`` with rank r's picklable ``obj``, on every rank."""
    world = group_or_world(group, "all_gather_object")
    if len(object_list) != world.size:
        raise ValueError(f"all_gather_object: object_list has {len(object_list)} entries; "
                         f"the world size is {world.size}")
    _agree(world, "all_gather_object", None)
    object_list[:] = world.run(lambda comm: comm.allgather(obj), "all_gather_object")


def _check_rank(world: _Group, rank: int, what: str, name: str) -> None:
    if not 0 <= rank < world.size:
        raise ValueError(f"{what}: {name}={rank} is not a rank of a world of size {world.size}")


def _check_list(world: _Group, tensors: Sequence[Tensor] | None, shape: tuple[int, ...],
                what: str, name: str) -> None:
    if tensors is None or len(tensors) != world.size:
        raise ValueError(f"{what}: {name} must hold world_size ({world.size}) tensors, got "
                         f"{None if tensors is None else len(tensors)}")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != shape:
            raise ValueError(f"{what}: {name}[{i}] has shape {tuple(t.shape)} on rank "
                             f"{world.rank}; expected {shape}")
