"""The one seam between chainrule and its array library.

Every op computes on arrays through ``xp`` (NumPy today). A GPU backend (CuPy) would be added
here, by rebinding ``xp`` and ``Array``, without touching the ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy

xp = numpy
Array = numpy.ndarray

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
int64 = numpy.dtype("int64")
int32 = numpy.dtype("int32")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")


def is_floating(dtype: numpy.dtype) -> bool:
    """True for the floating dtypes (the only ones that can carry gradients)."""
    return dtype.kind == "f"


def _tune_malloc() -> None:
    """Keep large temporaries in glibc's heap instead of mmap'ing them afresh each step.

    NOTE: glibc returns every > 128 KiB block to the OS on free, so each training step
    page-faults its activations in again; raising the thresholds measured 2-3x on an MLP step
    (PERF-NOTES.md). Python objects are unaffected; a no-op where glibc is absent.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 * 1024 * 1024)
    mallopt(m_trim_threshold, 1024 * 1024 * 1024)


_tune_malloc()
