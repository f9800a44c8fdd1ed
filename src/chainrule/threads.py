"""Intra-op threads, as ``torch.get_num_threads``/``torch.set_num_threads``: how many threads
one op may use.

BLAS (NumPy's, or MKL where chainrule multiplies with it) splits each large product over
its own threads; MKL keeps to one inside a piece of ``split``. Work BLAS does not see
(attention's many small per-head products and its softmax) chainrule splits itself:
``split(body, n)`` runs ``body(lo, hi)`` over one piece of ``range(n)`` per thread, the first
piece on the calling thread and the others on workers that sleep while idle. A body should
spend its time in code that releases the GIL (NumPy's products and ufuncs, the ``nogil``
kernels), or the pieces take turns. Where MKL runs on OpenMP, compiled kernels fork onto
MKL's own threads instead (``mkl.Team``, ``kernels.team``), which is 10-50x cheaper a fork;
``split`` serves where it does not.

NOTE: OpenBLAS's idle workers spin for 2²⁸ processor cycles (about 0.1 s) after each
product before they sleep, holding the cores chainrule's own threads would run on (a kernel
split over two threads ran slower than on one right after a product). Unless the user set
``OPENBLAS_THREAD_TIMEOUT``, chainrule shortens the spin to 2²⁰ cycles (about 0.4 ms), long
enough to span the gaps between back-to-back products.
"""

from __future__ import annotations

import ctypes
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from chainrule import mkl

__all__ = ["get_num_threads", "set_num_threads", "split"]

_SPIN = 20
"""OpenBLAS's spin before its workers sleep, as a power of two of processor cycles."""

_local = threading.local()
_workers: list[queue.SimpleQueue[Any]] = []
_count = 1


def get_num_threads() -> int:
    """The number of threads an op may use (BLAS's and chainrule's own), as
    ``torch.get_num_threads``.

    Example:
        >>> import chainrule as cr
        >>> cr.get_num_threads() >= 1
        True
    """
    return _count


def set_num_threads(n: int) -> None:
    """Let each op use ``n`` threads: BLAS's (where NumPy's BLAS is OpenBLAS) and chainrule's
    own, as ``torch.set_num_threads``.

    Example:
        >>> import chainrule as cr
        >>> before = cr.get_num_threads()
        >>> cr.set_num_threads(1)
        >>> cr.get_num_threads()
        1
        >>> cr.set_num_threads(before)
    """
    global _count
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _blas_call("set_num_threads", n)
    mkl.set_num_threads(n)
    _count = n


def split(body: Callable[[int, int], None], n: int, grain: int = 1) -> None:
    """Run ``body(lo, hi)`` over ``range(n)`` in one piece per thread (pieces of at least
    ``grain`` items; one piece, on this thread, when there are fewer or one thread), and
    return when every piece is done; an exception in a piece is raised here."""
    pieces = min(_count, n // max(grain, 1))
    if pieces <= 1 or getattr(_local, "busy", False):
        body(0, n)
        return
    _start(pieces - 1)
    bounds = [n * i // pieces for i in range(pieces + 1)]
    done: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
    for worker, lo, hi in zip(_workers, bounds[1:-1], bounds[2:]):
        worker.put((body, lo, hi, done))
    _local.busy = True
    threads = mkl.set_local_threads(1)
    try:
        body(bounds[0], bounds[1])
    finally:
        _local.busy = False
        mkl.set_local_threads(threads)
        errors = [done.get() for _ in range(pieces - 1)]
    for error in errors:
        if error is not None:
            raise error


def _start(count: int) -> None:
    """Start workers until there are ``count``."""
    while len(_workers) < count:
        tasks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        threading.Thread(target=_serve, args=(tasks,), daemon=True,
                         name=f"chainrule-worker-{len(_workers)}").start()
        _workers.append(tasks)


def _serve(tasks: queue.SimpleQueue[Any]) -> None:
    _local.busy = True  # (a body that splits again runs its pieces here)
    mkl.set_local_threads(1)  # (MKL's products, too)
    while True:
        body, lo, hi, done = tasks.get()
        try:
            body(lo, hi)
        except BaseException as error:  # (re-raised on the calling thread)
            done.put(error)
        else:
            done.put(None)


def _forget_workers() -> None:
    """In a forked child, where the parent's worker threads do not exist."""
    _workers.clear()


def _openblas() -> ctypes.CDLL | None:
    """NumPy's OpenBLAS (before any other OpenBLAS loaded, such as another library's), where
    that is NumPy's BLAS and this system lists loaded libraries."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line}
    except OSError:
        return None
    for path in sorted(paths, key=lambda p: ("numpy" not in p and "scipy_openblas" not in p, p)):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if _symbol(lib, "get_num_threads") is not None:
            return lib
    return None


def _symbol(lib: ctypes.CDLL, name: str) -> Any:
    """OpenBLAS's ``openblas_<name>``, under the names builds give it (SciPy's wheels prefix
    ``scipy_`` and suffix ``64_`` for 64-bit integers)."""
    for full in (f"openblas_{name}", f"scipy_openblas_{name}64_", f"scipy_openblas_{name}"):
        fn = getattr(lib, full, None)
        if fn is not None:
            return fn
    return None


def _blas_call(name: str, *args: int) -> int | None:
    """OpenBLAS's ``openblas_<name>(*args)``, or None without OpenBLAS."""
    fn = None if _blas is None else _symbol(_blas, name)
    return None if fn is None else fn(*args)


def _shorten_spin(lib: ctypes.CDLL) -> None:
    """Restart OpenBLAS's workers with a short spin (see the module's note), unless the user
    chose one."""
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    read_env = getattr(lib, "openblas_read_env", None)
    shutdown = getattr(lib, "blas_thread_shutdown_", None)
    if read_env is None or shutdown is None:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(_SPIN)
    read_env()
    shutdown()  # (the next product starts them again, reading the new spin)
    del os.environ["OPENBLAS_THREAD_TIMEOUT"]


_blas = _openblas()
if _blas is not None:
    _shorten_spin(_blas)
_count = _blas_call("get_num_threads") or (len(os.sched_getaffinity(0)) if hasattr(
    os, "sched_getaffinity") else os.cpu_count() or 1)
mkl.set_num_threads(_count)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers)
