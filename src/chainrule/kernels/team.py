"""Compiled kernels run over shares of their work on MKL's OpenMP threads (``mkl.Team``).

A kernel here is a Numba ``cfunc`` of signature ``SHARE``: ``f(data, lo, hi, t)`` does items
``lo:hi`` of the work as thread ``t``, reading its arguments (``arguments``) from the int64
header at ``data``. ``run`` forks it over the team, each thread taking an even share.

NOTE: a fork reaches a thread MKL's last product left spinning in 2-7 µs and keeps it warm for
MKL's next product; ``threads.split`` hands a piece to a Python worker in 30-130 µs, and that
worker competes with MKL's spinning thread for the core.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types

from chainrule import mkl, threads
from chainrule.kernels import cacheable, native
from chainrule.kernels.approx import kernel

SHARE = types.void(types.voidptr, types.int64, types.int64, types.int64)
"""A share kernel's C signature: (header, lo, hi, thread)."""

GRAIN = 1 << 15
"""Items (elements, or row elements) a thread takes at least: about 30 µs of a pass over
memory, against a fork's 2-7 µs."""

_HEAD = 5  # the share kernel's address, thread_num, num_threads, items, itemsize


def options(fn: Any) -> dict[str, Any]:
    """Numba's options for a share kernel defined beside ``fn`` (cached on disk where it can
    be)."""
    return {"cache": cacheable(fn), "error_model": "numpy"}


@kernel
def arguments(data: Any, count: int) -> Any:
    """The ``count`` int64 arguments in the header at ``data``, after the itemsize (index 0,
    4 or 8, which says float32 or float64)."""
    return numba.carray(data, _HEAD + count, np.int64)[_HEAD - 1:]


@kernel
def running(data: Any) -> int:
    """How many threads run the share kernel whose header is at ``data`` (fewer than asked
    for where the OpenMP runtime gives fewer)."""
    return native.call_int(numba.carray(data, _HEAD, np.int64)[2])


@kernel
def array_at(address: int, shape: Any, dtype: Any) -> Any:
    """The C-contiguous array of ``shape`` and ``dtype`` at ``address``."""
    return numba.carray(native.pointer(address, dtype), shape)


@numba.cfunc(types.void(types.voidptr), **options(array_at.py_func))
def _fork_body(data: Any) -> None:
    head = numba.carray(data, _HEAD, np.int64)
    t, n = native.call_int(head[1]), native.call_int(head[2])
    native.call_share(head[0], data, head[3] * t // n, head[3] * (t + 1) // n, t)


def partial_rows(count: int, n: int, dtype: np.dtype) -> tuple[np.ndarray, int]:
    """A zeroed (count, n) array of rows for ``count`` threads to sum into, one each, and its
    row stride in items: rows 128 bytes apart or more, so that no cache line holds two
    threads' sums (a line two threads write in turn ran a layer norm's backward on two
    threads no faster than on one)."""
    size = np.dtype(dtype).itemsize
    stride = n + 128 // size
    return np.zeros((count, stride), dtype)[:, :n], stride


def team_threads(items: int) -> int:
    """The threads of MKL's team to run ``items`` on (at least ``GRAIN`` each), or 0 where
    there is no team (MKL is absent or not on OpenMP)."""
    if mkl.team() is None:
        return 0
    return max(1, min(threads.get_num_threads(), items // GRAIN))


def run(kernel: Any, items: int, itemsize: int, args: list[int], count: int) -> None:
    """``kernel`` (a share cfunc) over ``items`` on ``count`` threads of MKL's team, with the
    int64 ``args`` after the itemsize in its header."""
    lent = mkl.team()
    head = np.array([kernel.address, lent.thread_num, lent.num_threads, items, itemsize, *args],
                    np.int64)
    lent.fork(_fork_body.address, head.ctypes.data, count)
