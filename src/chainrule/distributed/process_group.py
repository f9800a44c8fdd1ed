"""The process group: which process this is, how many there are, and the MPI communicator
that joins them (``torch.distributed``'s ``init_process_group`` and friends).

Rank and world size come from the MPI launcher (``mpirun`` or ``chainrule run``); where
torchrun-style ``RANK`` / ``WORLD_SIZE`` variables are set too they must agree with it. Processes
that torchrun started instead (no MPI launcher, ``WORLD_SIZE`` > 1, ``MASTER_ADDR`` /
``MASTER_PORT`` set) are joined into one communicator by ``rendezvous``.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

from chainrule.distributed import rendezvous
from chainrule.distributed.comm_thread import CommThread, DistributedError, Pending, missing_rank

__all__ = ["DistributedError", "destroy_process_group", "get_backend", "get_rank",
           "get_world_size", "init_process_group", "is_available", "is_initialized"]

DEFAULT_TIMEOUT = timedelta(minutes=30)  # PyTorch's default for CPU process groups


class _Group:
    """The initialised world: its communicator (used by its communication thread, and by the
    training thread while that one is idle), this rank, the size and the timeout."""

    def __init__(self, comm: Any, timeout: timedelta) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout.total_seconds()
        self.thread = CommThread(self.timeout, self._stuck)

    def submit(self, fn: Callable[[Any], Any]) -> Pending:
        """Run ``fn(comm)`` on the communication thread."""
        comm = self.comm
        return self.thread.submit(lambda: fn(comm))

    def idle(self) -> bool:
        """Whether the communication thread has run every call submitted to it (and is
        outside MPI until the next is submitted)."""
        last = self.thread.last
        return last is None or last.event.is_set()

    def run_here(self, fn: Callable[[Any], Any], what: str) -> Any:
        """``fn(comm)`` on the calling thread (the one that submits this group's calls), which
        has just seen the group :meth:`idle`: no hand-off, but a rank missing from the
        collective aborts the job after the timeout (the call cannot be interrupted) instead
        of raising."""
        thread = self.thread
        thread.here_calls += 1
        thread.here = what
        try:
            return fn(self.comm)
        except Exception as e:  # an MPI error, as the waits report those of submitted calls
            raise DistributedError(f"{what}: {e}") from e
        finally:
            thread.here = None

    def _stuck(self, what: str) -> None:
        sys.stderr.write(f"[rank {self.rank}] DistributedError: "
                         f"{missing_rank(what, self.timeout, self.rank, self.size)}; aborting "
                         f"all {self.size} ranks\n")
        sys.stderr.flush()
        self.comm.Abort(1)

    def wait(self, pending: Pending, what: str) -> Any:
        """The result of a submitted call, or a :class:`DistributedError` after the timeout."""
        return pending.wait(self.timeout, what, self.rank, self.size)

    def run(self, fn: Callable[[Any], Any], what: str) -> Any:
        """``fn(comm)`` on the communication thread, waited for."""
        return self.wait(self.submit(fn), what)


_world: _Group | None = None


def mpi() -> Any:
    """The ``mpi4py.MPI`` module, with an install hint where it is missing.

    Before MPI starts, Open MPI is asked to yield the core while a call waits for other ranks
    (``mpi_yield_when_idle``, unless the environment sets it): the communication thread waits
    inside MPI while this rank's training thread computes, and Open MPI's default busy-polling
    would take the core from that computation (it yields by default only when there are more
    processes than cores, not counting the threads).
    """
    if "mpi4py.MPI" not in sys.modules:
        os.environ.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "chainrule.distributed needs mpi4py and an MPI library: `pip install "
            "'chainrule[mpi]'` (and Open MPI, e.g. `apt-get install openmpi-bin "
            "libopenmpi-dev`)") from e
    return MPI


def is_available() -> bool:
    """Whether mpi4py can be imported (distributed training is possible here)."""
    try:
        mpi()
    except ImportError:
        return False
    return True


def init_process_group(backend: str | None = "mpi", init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store: Any = None, group_name: str = "") -> None:
    """Join the processes started by the MPI launcher (or by torchrun) into the default
    process group.

    Args:
        backend: ``"mpi"`` (``None`` means the same); the only backend.
        init_method: accepted for PyTorch compatibility; only ``None`` or ``"env://"``
            (MPI itself connects the processes).
        timeout: how long a collective waits for the other ranks before raising a
            :class:`DistributedError` naming the operation and this rank (default 30 min).
        world_size: if given, must equal the launcher's number of processes.
        rank: if given, must equal this process's MPI rank.
        store: not supported (MPI needs no rendezvous store); must be ``None``.
        group_name: ignored, as in PyTorch.

    An exception that escapes the script on any rank aborts the whole job (every rank stops
    at once) instead of leaving the others waiting at their next collective.

    Raises:
        ValueError: for another backend, or a rank / world size that disagrees with MPI's.
        RuntimeError: if the default group is already initialised.
    """
    global _world
    if _world is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    if backend not in (None, "mpi"):
        raise ValueError(f"init_process_group: backend {backend!r} is not available; "
                         "chainrule's only backend is 'mpi'")
    if init_method not in (None, "env://") or store is not None:
        raise ValueError("init_process_group: MPI connects the processes itself; pass "
                         f"neither init_method ({init_method!r}) nor store")
    timeout = timeout or DEFAULT_TIMEOUT
    torchrun = rendezvous.torchrun_world()
    comm = (rendezvous.join(*torchrun, timeout.total_seconds()) if torchrun is not None
            else None)
    MPI = mpi()
    if MPI.Query_thread() < MPI.THREAD_SERIALIZED:
        raise RuntimeError("init_process_group: the MPI library must support threads "
                           "(MPI_THREAD_SERIALIZED or better); chainrule calls MPI from a "
                           "communication thread")
    comm = comm or MPI.COMM_WORLD
    got_rank, got_size = comm.Get_rank(), comm.Get_size()
    for name, value, actual in (("world_size", world_size, got_size), ("rank", rank, got_rank),
                                ("WORLD_SIZE", os.environ.get("WORLD_SIZE"), got_size),
                                ("RANK", os.environ.get("RANK"), got_rank)):
        if value is not None and int(value) != -1 and int(value) != actual:
            hint = (" (this process was not started by an MPI launcher: run it with "
                    "`chainrule run -n N script.py` or `mpirun -n N python script.py`)"
                    if got_size == 1 else "")
            raise ValueError(f"init_process_group: {name}={value} but MPI started this "
                             f"process as rank {got_rank} of {got_size}{hint}")
    _world = _Group(comm.Dup(), timeout)
    _abort_on_uncaught_exception()


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (MPI itself is finalised at interpreter exit)."""
    global _world
    world = group_or_world(group, "destroy_process_group")
    world.thread.stop()
    world.comm.Free()
    _world = None


def is_initialized() -> bool:
    """Whether ``init_process_group`` has been called (and not destroyed)."""
    return _world is not None


def get_rank(group: Any = None) -> int:
    """This process's rank, 0 … world size − 1."""
    return group_or_world(group, "get_rank").rank


def get_world_size(group: Any = None) -> int:
    """The number of processes in the group."""
    return group_or_world(group, "get_world_size").size


def get_backend(group: Any = None) -> str:
    """The group's backend: ``"mpi"``."""
    group_or_world(group, "get_backend")
    return "mpi"


def group_or_world(group: Any, who: str) -> _Group:
    """The default group, or an error saying it must be initialised first."""
    if _world is None:
        raise RuntimeError(f"{who}: Default process group has not been initialized, please "
                           "make sure to call init_process_group.")
    if group is not None and group is not _world:
        raise ValueError(f"{who}: only the default process group (group=None) is supported")
    return _world


def _abort_on_uncaught_exception() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        world = _world
        if world is None or world.size == 1 or kind is KeyboardInterrupt:
            previous(kind, value, tb)
            return
        sys.stderr.write(f"[rank {world.rank}] uncaught exception; aborting all "
                         f"{world.size} ranks:\n" + "".join(
                             traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        world.comm.Abort(1)

    sys.excepthook = hook
