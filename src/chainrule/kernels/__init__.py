"""Fused CPU kernels compiled by Numba (the optional ``jit`` extra: ``pip install chainrule[jit]``).

Ops whose NumPy form takes many passes over memory or a slow ufunc (ReLU, GELU, layer norm,
softmax, an LSTM cell's gate math, an optimizer's update) run one compiled kernel instead
when Numba is installed and the arrays are NumPy float32/float64; otherwise they run their
NumPy form, with the same results to float tolerance. ``CHAINRULE_JIT=0`` in the
environment, or ``use_jit(False)``, turns the kernels off (the tests run both forms).

The kernels live in modules named for their concept (``activation``, ``arithmetic``,
``attention``, ``linear``, ``normalization``, ``softmax``, ``loss``, ``recurrent``, ``windows``,
``pool``, ``scatter``, ``optim``; ``approx`` holds what they share, ``native`` their calls
into C, and ``team`` runs them on MKL's threads). Those modules import Numba, so they load on
first use (``kernels.activation.gelu(...)``), which an op reaches only after ``fits`` says its
arrays
qualify.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["enabled", "fits", "fits_in_place", "use_jit"]
_MODULES = frozenset({"activation", "approx", "arithmetic", "attention", "linear", "loss",
                      "native", "normalization", "optim", "pool", "recurrent", "scatter",
                      "softmax", "team", "windows"})

_available = importlib.util.find_spec("numba") is not None
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_on = _available and os.environ.get("CHAINRULE_JIT", "1") != "0"


def enabled() -> bool:
    """Whether fused kernels run (Numba is installed and they are not turned off)."""
    return _on


def fits(*arrays: Any) -> bool:
    """Whether kernels run on ``arrays``: they are on, and the arrays are NumPy arrays of one
    dtype, float32 or float64. The kernel modules (which import Numba) are imported by the ops
    only after this says yes."""
    if not _on:
        return False
    dtype = arrays[0].dtype
    return dtype in _FLOATS and all(type(a) is np.ndarray and a.dtype == dtype for a in arrays)


def fits_in_place(*arrays: Any) -> bool:
    """``fits``, and the arrays are C-contiguous (a kernel updates them in place, flat)."""
    return fits(*arrays) and all(a.flags.c_contiguous for a in arrays)


@contextlib.contextmanager
def use_jit(on: bool) -> Iterator[None]:
    """Within the block, run the fused kernels (``True``, where Numba is installed) or the
    NumPy forms (``False``)."""
    global _on
    before, _on = _on, on and _available
    try:
        yield
    finally:
        _on = before


def cacheable(fn: Callable[..., Any]) -> bool:
    """Whether Numba can cache ``fn``'s machine code on disk: its source is a file (not in a
    zip, as when chainrule is imported from a wheel)."""
    return os.path.isfile(fn.__code__.co_filename)


def _quiet_numba() -> None:
    """Numba's error highlighting starts colorama, whose exit handler writes an escape code to
    standard output (into a user's piped output): keep it off unless the user set it."""
    os.environ.setdefault("NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING", "1")


def __getattr__(name: str) -> Any:
    """The kernel modules, imported (with Numba) on first access."""
    if name in _MODULES:
        _quiet_numba()
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
