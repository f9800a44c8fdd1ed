"""Scaled dot-product attention over a stack of matrices, forward and backward, each one
compiled call that runs on MKL's OpenMP threads (``mkl.Team``) and calls MKL's GEMM itself.

Each thread takes a share of the stack and runs the whole attention of each of its matrices:
the products of the scores and the output (by query blocks for causal attention, each over
the keys it sees, as ``ops.attention`` describes) and the softmax (``kernels.softmax``'s
loops), so the scores stay in that core's cache.

NOTE: the arrays are C-contiguous stacks (batch, rows, cols) passed by address in an int64
header, because an OpenMP thread runs a C function of one pointer (a Numba ``cfunc``). The
header's layout is ``_HEAD`` followed by ``_head``'s fields and then the blocks.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba import types

from chainrule import mkl
from chainrule.kernels import approx, cacheable, native, softmax
from chainrule.kernels.approx import kernel

_ROWS, _TRANS = 111, 112

# header: itemsize, gemm, thread_num, num_threads, batch, L, S, E, Ev, causal, block count,
# constants' address; then the arrays' addresses (forward: q, kᵀ, v, p, y; backward: q, k,
# vᵀ, p, g, ds, gq, gk, gv, and which of the last three to compute); then the blocks
_HEAD = 12
_FORWARD_ARRAYS, _BACKWARD_ARRAYS = 5, 12


@kernel
def _forward(gemm: int, q: Any, kt: Any, v: Any, p: Any, y: Any, blocks: Any, c: Any,
             causal: bool, exact: bool, lo: int, hi: int) -> None:
    _, L, E = q.shape
    S, Ev = kt.shape[2], v.shape[2]
    one, zero = c[2], c[3]
    for b in range(lo, hi):
        for r in range(blocks.shape[0]):
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _ROWS, a1 - a0, kb, E, one, q[b, a0:].ctypes.data, E,
                        kt[b].ctypes.data, S, zero, p[b, a0:].ctypes.data, S)
        softmax._softmax(p[b:b + 1], c, causal, exact)
        for r in range(blocks.shape[0]):
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _ROWS, a1 - a0, Ev, kb, one, p[b, a0:].ctypes.data, S,
                        v[b].ctypes.data, Ev, zero, y[b, a0:].ctypes.data, Ev)


@kernel
def _transposed_by_keys(gemm: int, s: Any, x: Any, out: Any, blocks: Any, alpha: Any,
                        causal: bool) -> None:
    """out (S, n) ← alpha·sᵀ x for s (L, S) and x (L, n); causally, keys c..d of a block are
    seen by queries c.. only, and keys no query sees get 0."""
    L, S = s.shape
    n = x.shape[1]
    zero = alpha - alpha
    if not causal:
        native.gemm(gemm, _TRANS, _ROWS, S, n, L, alpha, s.ctypes.data, S, x.ctypes.data, n,
                    zero, out.ctypes.data, n)
        return
    for r in range(blocks.shape[0]):
        c0, d0 = blocks[r, 0], min(blocks[r, 1], S)
        if c0 < S:
            native.gemm(gemm, _TRANS, _ROWS, d0 - c0, n, L - c0, alpha, s[c0:, c0:].ctypes.data,
                        S, x[c0:].ctypes.data, n, zero, out[c0:].ctypes.data, n)
    out[min(L, S):] = zero


@kernel
def _backward(gemm: int, q: Any, k: Any, vt: Any, p: Any, g: Any, ds: Any, gq: Any, gk: Any,
              gv: Any, need: Any, blocks: Any, c: Any, causal: bool, lo: int, hi: int) -> None:
    _, L, E = q.shape
    S, Ev = k.shape[1], g.shape[2]
    after, one, zero = c[1], c[2], c[3]  # (c[0] scales the softmax gradient)
    for b in range(lo, hi):
        for r in range(blocks.shape[0]):  # ds ← G vᵀ over the keys seen, 0 past them
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _ROWS, a1 - a0, kb, Ev, one, g[b, a0:].ctypes.data, Ev,
                        vt[b].ctypes.data, S, zero, ds[b, a0:].ctypes.data, S)
            ds[b, a0:a1, kb:] = zero
        softmax._backward(p[b], ds[b], c[:1])
        if need[0]:
            for r in range(blocks.shape[0]):
                a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
                native.gemm(gemm, _ROWS, _ROWS, a1 - a0, E, kb, after, ds[b, a0:].ctypes.data,
                            S, k[b].ctypes.data, E, zero, gq[b, a0:].ctypes.data, E)
        if need[1]:
            _transposed_by_keys(gemm, ds[b], q[b], gk[b], blocks, after, causal)
        if need[2]:
            _transposed_by_keys(gemm, p[b], g[b], gv[b], blocks, one, causal)


@kernel
def _share(head: Any) -> tuple[int, int]:
    """This OpenMP thread's share ``lo, hi`` of the stack."""
    t, n = native.call_int(head[2]), native.call_int(head[3])
    return head[4] * t // n, head[4] * (t + 1) // n


@kernel
def _forward_views(head: Any, blocks: Any, dtype: Any) -> None:
    batch, L, S, E, Ev = head[4], head[5], head[6], head[7], head[8]
    at = head[_HEAD:]
    lo, hi = _share(head)
    _forward(head[1], numba.carray(native.pointer(at[0], dtype), (batch, L, E)),
             numba.carray(native.pointer(at[1], dtype), (batch, E, S)),
             numba.carray(native.pointer(at[2], dtype), (batch, S, Ev)),
             numba.carray(native.pointer(at[3], dtype), (batch, L, S)),
             numba.carray(native.pointer(at[4], dtype), (batch, L, Ev)), blocks,
             numba.carray(native.pointer(head[11], dtype), 4), head[9] != 0, head[0] == 8, lo,
             hi)


@kernel
def _backward_views(head: Any, blocks: Any, dtype: Any) -> None:
    batch, L, S, E, Ev = head[4], head[5], head[6], head[7], head[8]
    at = head[_HEAD:]
    lo, hi = _share(head)

    def view(i: int, rows: int, cols: int) -> Any:
        return numba.carray(native.pointer(at[i], dtype), (batch, rows, cols))

    _backward(head[1], view(0, L, E), view(1, S, E), view(2, Ev, S), view(3, L, S),
              view(4, L, Ev), view(5, L, S), view(6, L, E), view(7, S, E), view(8, S, Ev),
              at[9:12], blocks, numba.carray(native.pointer(head[11], dtype), 4), head[9] != 0,
              lo, hi)


_C_FUNCTION = {"cache": cacheable(_forward), "error_model": "numpy"}
"""Options of the C functions an OpenMP thread runs: each reads the header at its argument."""


@kernel
def _read(data: Any, arrays: int) -> tuple[Any, Any]:
    size = _HEAD + arrays
    head = numba.carray(data, size, np.int64)
    blocks = numba.carray(data, size + 3 * head[10], np.int64)[size:].reshape((head[10], 3))
    return head, blocks


@numba.cfunc(types.void(types.voidptr), **_C_FUNCTION)
def _forward_body(data: Any) -> None:
    head, blocks = _read(data, _FORWARD_ARRAYS)
    if head[0] == 4:
        _forward_views(head, blocks, np.float32)
    else:
        _forward_views(head, blocks, np.float64)


@numba.cfunc(types.void(types.voidptr), **_C_FUNCTION)
def _backward_body(data: Any) -> None:
    head, blocks = _read(data, _BACKWARD_ARRAYS)
    if head[0] == 4:
        _backward_views(head, blocks, np.float32)
    else:
        _backward_views(head, blocks, np.float64)


def _header(team: mkl.Team, dtype: np.dtype, shape: tuple[int, ...], causal: bool,
            blocks: list[tuple[int, int, int]], constants: np.ndarray,
            arrays: list[int]) -> np.ndarray:
    head = np.array([dtype.itemsize, mkl.gemm_address(dtype), team.thread_num,
                     team.num_threads, *shape, causal, len(blocks), constants.ctypes.data,
                     *arrays], np.int64)
    return np.concatenate((head, np.array(blocks, np.int64).reshape(-1)))


def forward(team: mkl.Team, q: np.ndarray, kt: np.ndarray, v: np.ndarray, p: np.ndarray,
            y: np.ndarray, blocks: list[tuple[int, int, int]], scale: float, causal: bool,
            threads: int) -> None:
    """p ← softmax(q kᵀ·scale) (causal: query i sees keys j ≤ i) and y ← p v, for C-contiguous
    stacks q (batch, L, E), kt (batch, E, S), v (batch, S, Ev), p (batch, L, S), y (batch, L,
    Ev) of one dtype, on ``threads`` threads. ``blocks`` are the query blocks ``(start, end,
    keys seen)``; ``[(0, L, S)]`` for all keys."""
    batch, L, E = q.shape
    c = approx.constants(q.dtype, scale, -np.inf, 1.0, 0.0)
    head = _header(team, q.dtype, (batch, L, kt.shape[2], E, v.shape[2]), causal, blocks, c,
                   [a.ctypes.data for a in (q, kt, v, p, y)])
    team.fork(_forward_body.address, head.ctypes.data, threads)


def backward(team: mkl.Team, q: np.ndarray, k: np.ndarray, vt: np.ndarray, p: np.ndarray,
             g: np.ndarray, ds: np.ndarray, grads: list[np.ndarray | None],
             blocks: list[tuple[int, int, int]], fold: float, after: float, causal: bool,
             threads: int) -> None:
    """From ``forward``'s p and the output's gradient g (batch, L, Ev), with k (batch, S, E)
    and vt (batch, Ev, S): ds ← p ⊙ (g vᵀ − rowsum(p ⊙ g vᵀ))·fold, and of ``grads`` (gq,
    gk, gv, each None where not wanted) gq ← ds k·after, gk ← dsᵀ q·after, gv ← pᵀ g."""
    batch, L, E = q.shape
    c = approx.constants(q.dtype, fold, after, 1.0, 0.0)
    arrays = [a.ctypes.data for a in (q, k, vt, p, g, ds)]
    arrays += [0 if a is None else a.ctypes.data for a in grads]
    arrays += [a is not None for a in grads]
    head = _header(team, q.dtype, (batch, L, k.shape[1], E, g.shape[2]), causal, blocks, c,
                   arrays)
    team.fork(_backward_body.address, head.ctypes.data, threads)
