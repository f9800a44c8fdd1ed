"""Intel MKL's matrix products, for chainrule's float32 and float64 products where the optional
``mkl`` package is installed (``pip install "chainrule[mkl]"``).

PyTorch's CPU builds multiply with MKL. NumPy's wheels bring OpenBLAS, which on recent Intel
CPUs runs a training step's products 1.2–2× slower than MKL (benchmarks/gemm_ceiling.py). Where
MKL's runtime library is found, ``matmul`` computes the products NumPy would, through MKL's
CBLAS (stacks through its batched GEMM), and ``Packed`` keeps a matrix packed for a recurrent
layer's many products by it; everything else stays with NumPy. ``CHAINRULE_BLAS=numpy`` keeps
NumPy's BLAS for every product; ``CHAINRULE_BLAS=mkl`` makes a missing MKL an error at import.

NOTE: MKL's OpenMP workers spin 200 ms after each product by default, holding the cores that
NumPy's ufuncs and chainrule's own threads run on next. Unless the user set ``KMP_BLOCKTIME``,
chainrule sets it to 1 ms before MKL loads (OpenBLAS's workers get the same treatment in
``threads``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import os
import sys
from typing import Any

import numpy

__all__ = ["Packed", "Team", "compute_address", "gemm_address", "is_available", "matmul",
           "packed", "team"]

_BLOCKTIME_MS = "1"

_SMALL = 1 << 20
"""Products of fewer multiply-adds (m·n·k, times the stack's size) than this stay with
NumPy: MKL's call through ctypes costs a few microseconds more than NumPy's, more than it
saves on a small product."""

_PACKED_SMALL = 1 << 18
"""A packed matrix's products of fewer multiply-adds than this stay with NumPy."""

_ROW_MAJOR, _NO_TRANS, _TRANS, _PACKED, _A_MATRIX = 101, 111, 112, 151, 161
_GEMM: dict[numpy.dtype, Any] = {}
_BATCH: dict[numpy.dtype, Any] = {}
_PACK: dict[numpy.dtype, tuple[Any, Any, Any]] = {}  # get_size, pack, compute
_lib: ctypes.CDLL | None = None
_team: Team | None = None


def is_available() -> bool:
    """True when chainrule's products run through MKL."""
    return _lib is not None


def set_num_threads(n: int) -> None:
    """Let MKL's products use ``n`` threads, this thread's included (a no-op without MKL).

    NOTE: clears the calling thread's own count, which would otherwise win over the global
    one: PyTorch's ``set_num_threads`` sets it when PyTorch is imported beside chainrule."""
    if _lib is not None:
        _lib.MKL_Set_Num_Threads(n)
        _lib.MKL_Set_Num_Threads_Local(0)


def set_local_threads(n: int) -> int:
    """Let MKL's products called from this thread use ``n`` threads (0: the global count);
    returns the previous local count (0 without MKL)."""
    return 0 if _lib is None else _lib.MKL_Set_Num_Threads_Local(n)


def _layout(x: numpy.ndarray) -> tuple[int, int] | None:
    """(CBLAS transpose flag, leading dimension) reading the matrix ``x`` (the last two axes)
    in place, or None when neither its rows nor its columns are contiguous."""
    r, c = x.shape[-2:]
    s0, s1 = x.strides[-2:]
    size = x.itemsize
    if s1 == size or c == 1:
        ld = s0 // size if r > 1 else c
        if s0 % size == 0 and ld >= max(c, 1):
            return _NO_TRANS, ld
    if s0 == size or r == 1:
        ld = s1 // size if c > 1 else r
        if s1 % size == 0 and ld >= max(r, 1):
            return _TRANS, ld
    return None


def matmul(a: numpy.ndarray, b: numpy.ndarray,
           out: numpy.ndarray | None = None) -> numpy.ndarray | None:
    """``numpy.matmul(a, b, out=out)`` computed by MKL, or None (nothing written) when MKL is
    absent or the product is one NumPy should do: other dtypes, vectors, small products, an
    ``out`` whose rows are not contiguous, stacks no one stride steps through. An operand MKL
    cannot read in place is copied first, as NumPy's BLAS calls copy it."""
    if (_lib is None or a.ndim < 2 or b.ndim < 2
            or a.size * b.shape[-1] < _SMALL > b.size * a.shape[-2]):
        return None  # (NOTE: both are at most the multiply-adds: small products leave first)
    if b.dtype != a.dtype or a.dtype not in _GEMM:
        return None
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if b.shape[-2] != k:
        return None
    if a.ndim == 2 and b.ndim == 2:
        return _plain(a, b, out, m, k, n) if m * n * k >= _SMALL else None
    try:
        batch = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        return None
    return _stacked(a, b, out, batch) if m * n * k * math.prod(batch) >= _SMALL else None


def _plain(a: numpy.ndarray, b: numpy.ndarray, out: numpy.ndarray | None, m: int, k: int,
           n: int) -> numpy.ndarray | None:
    """One product of matrices."""
    dtype = a.dtype
    lo = _layout(out) if out is not None else (_NO_TRANS, n)
    if out is not None and (out.dtype != dtype or out.shape != (m, n) or lo is None
                            or lo[0] != _NO_TRANS):
        return None
    la, lb = _layout(a), _layout(b)
    if la is None:
        a, la = numpy.ascontiguousarray(a), (_NO_TRANS, k)
    if lb is None:
        b, lb = numpy.ascontiguousarray(b), (_NO_TRANS, n)
    if out is None:
        out = numpy.empty((m, n), dtype)
    _GEMM[dtype](_ROW_MAJOR, la[0], lb[0], m, n, k, 1.0, a.ctypes.data, la[1], b.ctypes.data,
                 lb[1], 0.0, out.ctypes.data, lo[1])
    return out


def _stacked(a: numpy.ndarray, b: numpy.ndarray, out: numpy.ndarray | None,
             batch: tuple[int, ...]) -> numpy.ndarray | None:
    """A stack of products, broadcast over ``batch``, in one call of MKL's batched GEMM, or
    None where one stride does not step through each operand's matrices, or on one thread.

    NOTE: with two threads the batched call ran an LSTM's input projections (50 products of
    512×32 by 32×32) in 190 µs against NumPy's 401; on one thread, as in a piece of
    ``threads.split`` (attention's heads), it ran small stacks 1.0-1.25× slower than NumPy."""
    if _lib.MKL_Get_Max_Threads() < 2:
        return None
    dtype = a.dtype
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if out is not None and (out.dtype != dtype or out.shape != (*batch, m, n)):
        return None
    operands = []
    for x, cols in ((a, k), (b, n)):
        layout, stride = _layout(x), _batch_stride(x, batch)
        if layout is None or stride is None:
            x = numpy.ascontiguousarray(x)
            layout, stride = (_NO_TRANS, cols), _batch_stride(x, batch)
            if stride is None:
                return None
        operands.append((x, layout, stride))
    if out is None:
        out = numpy.empty((*batch, m, n), dtype)
    out_layout, out_stride = _layout(out), _batch_stride(out, batch)
    if out_layout is None or out_layout[0] != _NO_TRANS or out_stride is None:
        return None
    (a, (ta, lda), sa), (b, (tb, ldb), sb) = operands
    _BATCH[dtype](_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, sa, b.ctypes.data, ldb,
                  sb, 0.0, out.ctypes.data, out_layout[1], out_stride, math.prod(batch))
    return out


def _batch_stride(x: numpy.ndarray, batch: tuple[int, ...]) -> int | None:
    """The one stride (in items) stepping through ``x``'s matrices broadcast to ``batch``, or
    None when its batch axes do not fold into one."""
    lead = x.ndim - 2
    shape = (1,) * (len(batch) - lead) + x.shape[:lead]
    strides = (0,) * (len(batch) - lead) + x.strides[:lead]
    stride = span = None
    for n, full, st in zip(reversed(shape), reversed(batch), reversed(strides)):
        if full == 1:
            continue
        st = 0 if n == 1 else st
        if stride is None:
            stride, span = st, full
        elif st != stride * span:
            return None
        else:
            span *= full
    stride = 0 if stride is None else stride
    return None if stride < 0 or stride % x.itemsize else stride // x.itemsize


class Packed:
    """The matrix ``a`` (m, k) packed once by MKL for many products ``a @ x`` with ``x`` of
    shape (k, n): a recurrent layer's weight over its time steps.

    Attributes:
        address: the packed copy's address, for compiled loops that call MKL's
            ``cblas_?gemm_compute`` (at ``compute_address``).
        shape: (m, k, n).

    NOTE: MKL lays ``a`` out in its kernel's own blocks once, and each product skips that
    step: 1.4-1.5x faster than a plain product at LSTM sizes (512×128 by 128×32, 1024×256 by
    256×32). Packing costs about one product."""

    def __init__(self, a: numpy.ndarray, n: int) -> None:
        m, k = a.shape
        layout = _layout(a)
        if layout is None:
            a, layout = numpy.ascontiguousarray(a), (_NO_TRANS, k)
        size, pack, self._compute = _PACK[a.dtype]
        # (64 spare bytes: the packed copy starts at a 64-byte boundary, as MKL prefers)
        self._buffer = numpy.empty(size(_A_MATRIX, m, n, k) + 64, numpy.uint8)
        self.address = -self._buffer.ctypes.data % 64 + self._buffer.ctypes.data
        pack(_ROW_MAJOR, _A_MATRIX, layout[0], m, n, k, 1.0, a.ctypes.data, layout[1],
             self.address)
        self._a, self.shape = a, (m, k, n)

    def rows(self, index: Any) -> Packed:
        """``a[index]`` (rows of ``a``) packed for the same products."""
        return Packed(self._a[index], self.shape[2])

    def __call__(self, x: numpy.ndarray, out: numpy.ndarray) -> numpy.ndarray:
        """``a @ x`` into ``out``."""
        m, k, n = self.shape
        lx, lo = _layout(x), _layout(out)
        if (x.shape != (k, n) or out.shape != (m, n) or x.dtype != self._a.dtype
                or out.dtype != x.dtype or lx is None or lo is None or lo[0] != _NO_TRANS):
            return numpy.matmul(self._a, x, out=out)
        self._compute(_ROW_MAJOR, _PACKED, lx[0], m, n, k, self.address, k, x.ctypes.data,
                      lx[1], 0.0, out.ctypes.data, lo[1])
        return out


@functools.cache
def compute_address(dtype: numpy.dtype) -> int:
    """The address of MKL's ``cblas_?gemm_compute`` for ``dtype`` (float32 or float64), for
    compiled code to call with ``Packed.address`` (``kernels.native.gemm_compute``)."""
    return ctypes.cast(_PACK[numpy.dtype(dtype)][2], ctypes.c_void_p).value


@functools.cache
def gemm_address(dtype: numpy.dtype) -> int:
    """The address of MKL's ``cblas_?gemm`` for ``dtype`` (float32 or float64), for compiled
    code to call (``kernels.native.gemm``)."""
    return ctypes.cast(_GEMM[numpy.dtype(dtype)], ctypes.c_void_p).value


class Team:
    """MKL's OpenMP threads (Intel's OpenMP runtime, which MKL's default threading layer
    runs on), lent to compiled code.

    ``fork(body, data, n)`` runs the C function at address ``body`` as ``body(data)`` on ``n``
    threads of the team at once, the caller's among them, and returns when every one is
    done. Inside, the C functions ``int f(void)`` at ``thread_num`` and ``num_threads`` say
    which thread runs and how many do, and ``void f(void)`` at ``barrier`` waits until every
    thread of the team has reached it.

    NOTE: a fork reaches a thread MKL's last product left spinning (``KMP_BLOCKTIME``) in
    2-7 µs, and leaves it spinning for MKL's next product. Handing work to a Python thread
    (``threads.split``) cost 30-130 µs here. On two threads an attention layer's forward
    ran 1.07 against 1.56 ms that way.
    """

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._parallel = lib.GOMP_parallel
        self._parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint,
                                   ctypes.c_uint]
        self._parallel.restype = None
        self.thread_num = ctypes.cast(lib.omp_get_thread_num, ctypes.c_void_p).value
        self.num_threads = ctypes.cast(lib.omp_get_num_threads, ctypes.c_void_p).value
        self.barrier = ctypes.cast(lib.GOMP_barrier, ctypes.c_void_p).value

    def fork(self, body: int, data: int, n: int) -> None:
        """``body(data)`` on ``n`` threads; the GIL is released meanwhile."""
        self._parallel(body, data, n, 0)


def team() -> Team | None:
    """MKL's OpenMP threads, where MKL multiplies on Intel's OpenMP runtime (its default
    ``MKL_THREADING_LAYER``); None otherwise."""
    return _team


def _find_team() -> Team | None:
    """The Team of the Intel OpenMP runtime MKL loaded, if it did."""
    if _lib is None:
        return None
    _lib.MKL_Get_Max_Threads()  # (MKL loads its threading layer on first use)
    try:
        lib = ctypes.CDLL("libiomp5.so", mode=os.RTLD_NOLOAD | os.RTLD_LOCAL)
        return Team(lib)
    except (OSError, AttributeError):
        return None


def packed(a: numpy.ndarray, n: int) -> Packed | None:
    """``a`` packed for products ``a @ x`` with ``x`` of ``n`` columns, or None where NumPy
    should take them (no MKL, other dtypes, small products)."""
    if _lib is None or a.ndim != 2 or a.dtype not in _PACK:
        return None
    return Packed(a, n) if a.shape[0] * a.shape[1] * n >= _PACKED_SMALL else None


def _candidates() -> list[str]:
    """Where MKL's runtime library may be: the loader's search path, then the ``lib`` folders
    of the environments pip puts the ``mkl`` wheel's libraries in."""
    found = ctypes.util.find_library("mkl_rt")
    paths = [found] if found else []
    prefixes = dict.fromkeys((sys.prefix, sys.base_prefix, os.path.expanduser("~/.local")))
    for prefix in prefixes:
        for name in ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"):
            path = os.path.join(prefix, "lib", name)
            if os.path.exists(path):
                paths.append(path)
    return paths


def _bind(lib: ctypes.CDLL) -> None:
    """Declare the CBLAS functions chainrule calls."""
    i, p = ctypes.c_int, ctypes.c_void_p
    for dtype, scalar, prefix in ((numpy.dtype("float32"), ctypes.c_float, "s"),
                                  (numpy.dtype("float64"), ctypes.c_double, "d")):
        gemm = getattr(lib, f"cblas_{prefix}gemm")
        gemm.argtypes = [i] * 6 + [scalar, p, i, p, i, scalar, p, i]
        gemm.restype = None
        _GEMM[dtype] = gemm
        batch = getattr(lib, f"cblas_{prefix}gemm_batch_strided")
        batch.argtypes = [i] * 6 + [scalar, p, i, ctypes.c_int64, p, i, ctypes.c_int64, scalar,
                                    p, i, ctypes.c_int64, ctypes.c_int64]
        batch.restype = None
        _BATCH[dtype] = batch
        size = getattr(lib, f"cblas_{prefix}gemm_pack_get_size")
        size.argtypes, size.restype = [i] * 4, ctypes.c_size_t
        pack = getattr(lib, f"cblas_{prefix}gemm_pack")
        pack.argtypes, pack.restype = [i] * 6 + [scalar, p, i, p], None
        compute = getattr(lib, f"cblas_{prefix}gemm_compute")
        compute.argtypes, compute.restype = [i] * 6 + [p, i, p, i, scalar, p, i], None
        _PACK[dtype] = size, pack, compute
    lib.MKL_Set_Num_Threads_Local.restype = i


def _load() -> ctypes.CDLL | None:
    """MKL's runtime, loaded and bound, or None (NumPy's BLAS) where it is missing or the user
    chose NumPy's."""
    choice = os.environ.get("CHAINRULE_BLAS", "").lower()
    if choice not in ("", "mkl", "numpy"):
        raise ImportError(f"CHAINRULE_BLAS: expected 'mkl' or 'numpy', got {choice!r}")
    if choice == "numpy":
        return None
    for path in _candidates():
        os.environ.setdefault("KMP_BLOCKTIME", _BLOCKTIME_MS)  # (only where MKL may load)
        try:
            lib = ctypes.CDLL(path)
            _bind(lib)
        except (OSError, AttributeError):
            continue
        return lib
    if choice == "mkl":
        raise ImportError("CHAINRULE_BLAS=mkl: MKL's runtime library (libmkl_rt) was not "
                          "found; pip install 'chainrule[mkl]' (or pip install mkl)")
    return None


_lib = _load()
_team = _find_team()
