"""Scaled dot-product attention over a stack of matrices, forward and backward, each one
compiled call that runs on MKL's OpenMP threads (``kernels.team``) and calls MKL's GEMM
itself.

Each thread takes a share of the stack and runs the whole attention of each of its matrices:
the products of the scores and the output (by query blocks for causal attention, each over
the keys it sees, as ``ops.attention`` describes) and the softmax (``kernels.softmax``'s
loops), so the scores stay in that core's cache.

q, k, v, the output and the gradients are read and written where they lie: any stack of
matrices whose rows are contiguous (``Stack``), such as the heads of a fused projection,
which GEMM reads through its leading dimension. The scores and their gradient are
C-contiguous (n, L, S).

NOTE: everything is passed by address in ``kernels.team``'s int64 header: ``_HEAD``
fields, then three per stack (address, leading dimension, address of its matrices' byte
offsets), then the query blocks.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numba
import numpy as np

from chainrule import mkl
from chainrule.kernels import approx, native, softmax, team
from chainrule.kernels.approx import kernel

_ROWS, _TRANS = 111, 112

# itemsize, gemm, n, L, S, E, Ev, causal, block count, constants, the scores' address (and
# the scores' gradient's, backward)
_HEAD = 12
_FORWARD_STACKS, _BACKWARD_STACKS = 4, 7  # q, k, v, y; q, k, v, g, gq, gk, gv


class Stack(NamedTuple):
    """A stack of n matrices as GEMM reads them: matrix i starts ``offsets[i]`` bytes after
    ``address`` and its rows are ``ld`` items apart, each contiguous."""

    address: int
    ld: int
    offsets: np.ndarray


def stack(a: np.ndarray | None, batch: tuple[int, ...]) -> Stack | None:
    """``a`` (..., r, c), broadcast to the batch shape ``batch``, as a Stack; None where its
    rows are not contiguous (or ``a`` is None)."""
    if a is None:
        return None
    r, c = a.shape[-2:]
    s0, s1 = a.strides[-2:]
    size = a.itemsize
    ld = s0 // size if r > 1 else c
    if (s1 != size and c > 1) or s0 % size or ld < c or ld < 1:
        return None
    lead = a.ndim - 2
    strides = (0,) * (len(batch) - lead) + tuple(
        0 if n == 1 else st for n, st in zip(a.shape[:lead], a.strides[:lead]))
    return Stack(a.ctypes.data, ld, _offsets(batch, strides))


@functools.lru_cache(maxsize=64)
def _offsets(batch: tuple[int, ...], strides: tuple[int, ...]) -> np.ndarray:
    """The byte offsets of the matrices of a stack over ``batch`` with ``strides`` (read-only:
    a model's layers ask for the same few every step)."""
    offsets = np.zeros(batch, np.int64)
    for axis, (n, st) in enumerate(zip(batch, strides)):
        if n > 1 and st:
            offsets += (np.arange(n, dtype=np.int64) * st).reshape(
                (n,) + (1,) * (len(batch) - axis - 1))
    offsets = offsets.reshape(-1)
    offsets.flags.writeable = False
    return offsets


@kernel
def _at(x: Any, i: int, row: int, size: int) -> int:
    """The address of row ``row`` of matrix ``i`` of the stack ``x`` (address, ld,
    offsets)."""
    return x[0] + x[2][i] + row * x[1] * size


@kernel
def _forward(head: Any, blocks: Any, q: Any, k: Any, v: Any, y: Any, p: Any, c: Any,
             lo: int, hi: int) -> None:
    size, gemm = head[0], head[1]
    S, E, Ev = head[4], head[5], head[6]
    one, zero = c[2], c[3]
    for b in range(lo, hi):
        for r in range(blocks.shape[0]):
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _TRANS, a1 - a0, kb, E, one, _at(q, b, a0, size), q[1],
                        _at(k, b, 0, size), k[1], zero, p[b, a0:].ctypes.data, S)
        softmax._softmax(p[b:b + 1], c, head[7] != 0, size == 8)
        for r in range(blocks.shape[0]):
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _ROWS, a1 - a0, Ev, kb, one, p[b, a0:].ctypes.data, S,
                        _at(v, b, 0, size), v[1], zero, _at(y, b, a0, size), y[1])


@kernel
def _by_keys(head: Any, blocks: Any, s: Any, x: Any, out: Any, n: int, b: int,
             alpha: Any) -> None:
    """out (S, n) ← alpha·sᵀ x for matrix ``b`` of the stacks x (L, n) and out, and s (L, S);
    causally, keys c..d of a block are seen by queries c.. only, and keys no query sees
    get 0."""
    size, gemm = head[0], head[1]
    L, S = s.shape
    zero = alpha - alpha
    if head[7] == 0:
        native.gemm(gemm, _TRANS, _ROWS, S, n, L, alpha, s.ctypes.data, S, _at(x, b, 0, size),
                    x[1], zero, _at(out, b, 0, size), out[1])
        return
    for r in range(blocks.shape[0]):
        c0, d0 = blocks[r, 0], min(blocks[r, 1], S)
        if c0 < S:
            native.gemm(gemm, _TRANS, _ROWS, d0 - c0, n, L - c0, alpha,
                        s[c0:, c0:].ctypes.data, S, _at(x, b, c0, size), x[1], zero,
                        _at(out, b, c0, size), out[1])
    for j in range(min(L, S), S):
        numba.carray(native.pointer(_at(out, b, j, size), s.dtype), n)[:] = zero


@kernel
def _backward(head: Any, blocks: Any, q: Any, k: Any, v: Any, g: Any, gq: Any, gk: Any,
              gv: Any, p: Any, ds: Any, c: Any, lo: int, hi: int) -> None:
    size, gemm = head[0], head[1]
    S, E, Ev = head[4], head[5], head[6]
    after, one, zero = c[1], c[2], c[3]  # (c[0] scales the softmax's gradient)
    for b in range(lo, hi):
        for r in range(blocks.shape[0]):  # ds ← G vᵀ over the keys seen, 0 past them
            a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
            native.gemm(gemm, _ROWS, _TRANS, a1 - a0, kb, Ev, one, _at(g, b, a0, size), g[1],
                        _at(v, b, 0, size), v[1], zero, ds[b, a0:].ctypes.data, S)
            ds[b, a0:a1, kb:] = zero
        softmax._backward(p[b], ds[b], c[:1])
        if gq[0]:
            for r in range(blocks.shape[0]):
                a0, a1, kb = blocks[r, 0], blocks[r, 1], blocks[r, 2]
                native.gemm(gemm, _ROWS, _ROWS, a1 - a0, E, kb, after, ds[b, a0:].ctypes.data,
                            S, _at(k, b, 0, size), k[1], zero, _at(gq, b, a0, size), gq[1])
        if gk[0]:
            _by_keys(head, blocks, ds[b], q, gk, E, b, after)
        if gv[0]:
            _by_keys(head, blocks, p[b], g, gv, Ev, b, one)


@kernel
def _stacks(data: Any, count: int) -> tuple[Any, Any]:
    """The header at ``data`` (``team.arguments``, with ``count`` stacks) and its blocks."""
    size = _HEAD + 3 * count
    head = team.arguments(data, size - 1)
    return head, team.arguments(data, size - 1 + 3 * head[8])[size:].reshape((head[8], 3))


@kernel
def _read(head: Any, i: int) -> Any:
    """Stack ``i`` of the header: (address, ld, offsets)."""
    at = _HEAD + 3 * i
    return head[at], head[at + 1], team.array_at(head[at + 2], head[2], np.int64)


@kernel
def _scores(head: Any, at: int, dtype: Any) -> Any:
    return team.array_at(head[at], (head[2], head[3], head[4]), dtype)


@kernel
def _forward_typed(data: Any, lo: int, hi: int, dtype: Any) -> None:
    head, blocks = _stacks(data, _FORWARD_STACKS)
    _forward(head, blocks, _read(head, 0), _read(head, 1), _read(head, 2), _read(head, 3),
             _scores(head, 10, dtype), team.array_at(head[9], 4, dtype), lo, hi)


@kernel
def _backward_typed(data: Any, lo: int, hi: int, dtype: Any) -> None:
    head, blocks = _stacks(data, _BACKWARD_STACKS)
    _backward(head, blocks, _read(head, 0), _read(head, 1), _read(head, 2), _read(head, 3),
              _read(head, 4), _read(head, 5), _read(head, 6), _scores(head, 10, dtype),
              _scores(head, 11, dtype), team.array_at(head[9], 4, dtype), lo, hi)


@numba.cfunc(team.SHARE, **team.options(_forward.py_func))
def _forward_share(data: Any, lo: int, hi: int, t: int) -> None:
    if team.arguments(data, 0)[0] == 4:
        _forward_typed(data, lo, hi, np.float32)
    else:
        _forward_typed(data, lo, hi, np.float64)


@numba.cfunc(team.SHARE, **team.options(_backward.py_func))
def _backward_share(data: Any, lo: int, hi: int, t: int) -> None:
    if team.arguments(data, 0)[0] == 4:
        _backward_typed(data, lo, hi, np.float32)
    else:
        _backward_typed(data, lo, hi, np.float64)


def _arguments(dtype: np.dtype, dims: tuple[int, ...], causal: bool,
               blocks: list[tuple[int, int, int]], constants: np.ndarray,
               scores: list[np.ndarray], stacks: list[Stack | None]) -> list[int]:
    """The header's fields after the itemsize (``team.run``'s arguments)."""
    head = [mkl.gemm_address(dtype), *dims, causal, len(blocks), constants.ctypes.data,
            *(s.ctypes.data for s in scores)]
    head += [0] * (_HEAD - 1 - len(head))
    for s in stacks:
        head += [0, 0, 0] if s is None else [s.address, s.ld, s.offsets.ctypes.data]
    return head + [i for block in blocks for i in block]


def forward(q: Stack, k: Stack, v: Stack, y: Stack, p: np.ndarray,
            dims: tuple[int, int, int, int], blocks: list[tuple[int, int, int]], scale: float,
            causal: bool, threads: int) -> None:
    """p ← softmax(q kᵀ·scale) (causal: query i sees keys j ≤ i) and y ← p v, for stacks of
    n matrices q (L, E), k (S, E), v (S, Ev), y (L, Ev) and the C-contiguous scores p (n, L,
    S), where ``dims`` is (L, S, E, Ev), on ``threads`` threads. ``blocks`` are the query
    blocks ``(start, end, keys seen)``; ``[(0, L, S)]`` for all keys."""
    c = approx.constants(p.dtype, scale, -math.inf, 1.0, 0.0)
    team.run(_forward_share, p.shape[0], p.itemsize,
             _arguments(p.dtype, (p.shape[0], *dims), causal, blocks, c, [p], [q, k, v, y]),
             threads)


def backward(q: Stack, k: Stack, v: Stack, g: Stack,
             grads: tuple[Stack | None, Stack | None, Stack | None], p: np.ndarray,
             ds: np.ndarray, dims: tuple[int, int, int, int],
             blocks: list[tuple[int, int, int]], fold: float, after: float, causal: bool,
             threads: int) -> None:
    """From ``forward``'s p and the output's gradient g (L, Ev): ds (as p) ← p ⊙ (g vᵀ −
    rowsum(p ⊙ g vᵀ))·fold, and of ``grads`` (gq, gk, gv, each None where not wanted)
    gq ← ds k·after, gk ← dsᵀ q·after, gv ← pᵀ g."""
    c = approx.constants(p.dtype, fold, after, 1.0, 0.0)
    team.run(_backward_share, p.shape[0], p.itemsize,
             _arguments(p.dtype, (p.shape[0], *dims), causal, blocks, c, [p, ds],
                        [q, k, v, g, *grads]), threads)
