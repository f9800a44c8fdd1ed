"""An LSTM cell's pointwise gate math for one time step, forward and backward, one kernel call
each; and, where MKL has packed W_hh, the time loops that alternate it with the recurrent
product, one compiled call a direction that calls MKL itself.

The arrays are laid out gate by batch: a step's gates [i f g o] are the rows of a (4H, B)
array and its states (H, B), the transpose of the layer's (B, 4H) and (B, H). In this layout
the recurrent product is W_hh·h_{t−1} with the long side (4H) as BLAS's rows, which it runs
1.3-1.5x faster than h_{t−1}·W_hhᵀ at a batch of 32. σ(x) = ½·tanh(x/2) + ½ (one tanh form for
all four gates, as the NumPy form of ``LSTMSequence`` computes them).

NOTE: each loop writes one place per array and never writes an array it reads at another
offset: LLVM cannot tell such accesses apart and falls back to scalar code (a 4-gate loop
writing ``acts[j], acts[H + j], …`` ran 10× slower than these split loops).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from chainrule import mkl, threads
from chainrule.kernels import approx, native, team
from chainrule.kernels.approx import kernel


@kernel
def _forward(pre: Any, xg: Any, bias: Any, c_prev: Any, scale: Any, shift: Any, acts: Any,
             c: Any, tc: Any, h: Any, exact: bool, j0: int, j1: int) -> None:
    # hidden units j0..j1 only; ``pre`` holds their gates [i f g o] alone, (4·(j1 − j0), B)
    H, B = c.shape
    m = j1 - j0
    for g in range(4):
        for u in range(m):
            j = g * H + j0 + u
            s, k, add = scale[j], bias[j], shift[j]
            for b in range(B):
                acts[j, b] = s * approx.tanh(s * (pre[g * m + u, b] + xg[j, b] + k), exact) \
                    + add
    for j in range(j0, j1):
        for b in range(B):
            cn = acts[H + j, b] * c_prev[j, b] + acts[j, b] * acts[2 * H + j, b]
            t = approx.tanh(cn, exact)
            c[j, b] = cn
            tc[j, b] = t
            h[j, b] = acts[3 * H + j, b] * t


@kernel
def _backward(gh: Any, dh_next: Any, dc: Any, acts: Any, c_prev: Any, tc: Any, dg: Any,
              k: Any, j0: int, j1: int) -> None:
    # hidden units j0..j1 only
    one = k[0]
    H, B = dc.shape
    for j in range(j0, j1):  # dc += dh·o·(1 − tanh² c);  d_o = dh·tanh c·σ′(o)
        for b in range(B):
            dh = gh[j, b] + dh_next[j, b]
            o = acts[3 * H + j, b]
            t = tc[j, b]
            dg[3 * H + j, b] = dh * t * o * (one - o)
            dc[j, b] = dc[j, b] + dh * o * (one - t * t)
    for j in range(j0, j1):  # d_i = dc·g·σ′(i)
        for b in range(B):
            dg[j, b] = dc[j, b] * acts[2 * H + j, b] * acts[j, b] * (one - acts[j, b])
    for j in range(j0, j1):  # d_f = dc·c_{t−1}·σ′(f)
        for b in range(B):
            dg[H + j, b] = dc[j, b] * c_prev[j, b] * acts[H + j, b] * (one - acts[H + j, b])
    for j in range(j0, j1):  # d_g = dc·i·(1 − g²)
        for b in range(B):
            g = acts[2 * H + j, b]
            dg[2 * H + j, b] = dc[j, b] * acts[j, b] * (one - g * g)
    for j in range(j0, j1):  # ∂/∂c_{t−1} = dc·f
        for b in range(B):
            dc[j, b] = dc[j, b] * acts[H + j, b]


def lstm_cell(pre: np.ndarray, xg: np.ndarray, bias: np.ndarray, c_prev: np.ndarray,
              scale: np.ndarray, shift: np.ndarray, acts: np.ndarray, c: np.ndarray,
              tc: np.ndarray, h: np.ndarray) -> None:
    """One step forward, gate by batch: acts (4H, B) = scale·tanh(scale·(pre + xg + bias)) +
    shift, the gates [i f g o] (scale ½ and shift ½ on i, f, o give σ; 1 and 0 on g give
    tanh), and c, tc, h (H, B) receive c_t = f⊙c_prev + i⊙g, tanh c_t and h_t = o⊙tanh c_t.
    ``pre`` is W_hh h_{t−1}, ``xg`` W_ih x_t, ``bias`` (4H,) b_ih + b_hh; no output may share
    memory with an input."""
    _forward(pre, xg, bias, c_prev, scale, shift, acts, c, tc, h, approx.exact(pre), 0,
             c.shape[0])


def lstm_cell_backward(gh: np.ndarray, dh_next: np.ndarray, dc: np.ndarray, acts: np.ndarray,
                       c_prev: np.ndarray, tc: np.ndarray, dg: np.ndarray) -> None:
    """One step of backpropagation through time, gate by batch. With dh = gh + dh_next (H, B):
    dg (4H, B) receives the gate pre-activations' gradient, and dc (H, B), holding ∂/∂c_t from
    the step after, becomes ∂/∂c_{t−1}."""
    _backward(gh, dh_next, dc, acts, c_prev, tc, dg, approx.constants(acts.dtype, 1.0), 0,
              dc.shape[0])


@kernel
def _forward_loop(compute: int, packed: int, pre: Any, xg: Any, bias: Any, h0: Any, c0: Any,
                  scale: Any, shift: Any, acts: Any, cs: Any, tcs: Any, hs: Any, reverse: bool,
                  exact: bool, zero: Any, j0: int, j1: int, barrier: int) -> None:
    # hidden units j0..j1, whose gates' rows of W_hh are packed at ``packed``; with a
    # ``barrier``, the other units on the other threads of a team
    T, G, B = xg.shape
    H = G // 4
    h, c = h0, c0
    for s in range(T):
        t = T - 1 - s if reverse else s
        native.gemm_compute(compute, 111, 4 * (j1 - j0), B, H, packed, H, h.ctypes.data, B,
                            zero, pre.ctypes.data, B)
        _forward(pre, xg[t], bias, c, scale, shift, acts[t], cs[t], tcs[t], hs[t], exact, j0,
                 j1)
        if barrier:  # (every unit of h_t written before any thread's next product reads it)
            native.call(barrier)
        h, c = hs[t], cs[t]


@kernel
def _backward_loop(compute: int, packed: int, gh: Any, dh: Any, dc: Any, acts: Any, c0: Any,
                   cs: Any, tcs: Any, dg: Any, reverse: bool, k: Any, j0: int, j1: int,
                   barrier: int) -> None:
    # hidden units j0..j1, whose rows of W_hhᵀ are packed at ``packed``; with a ``barrier``,
    # the other units on the other threads of a team
    T, G, B = acts.shape
    zero = k[0] - k[0]
    size = dh.itemsize
    for s in range(T):
        t = s if reverse else T - 1 - s
        if s == T - 1:
            c_prev = c0
        else:
            c_prev = cs[t + 1] if reverse else cs[t - 1]
        _backward(gh[t], dh, dc, acts[t], c_prev, tcs[t], dg[t], k, j0, j1)
        if barrier:  # (every gate of dg_t written before any thread's product reads them)
            native.call(barrier)
        native.gemm_compute(compute, 111, j1 - j0, B, G, packed, G, dg[t].ctypes.data, B, zero,
                            dh.ctypes.data + j0 * B * size, B)


@kernel
def _forward_team(a: Any, lo: int, hi: int, t: int, running: int, dtype: Any) -> None:
    T, H, B, count = a[16], a[17], a[18], a[19]
    G = 4 * H
    whole = running != count  # (a smaller team than asked for: its first thread runs it all)
    if whole and t > 0:
        return
    j0, j1 = (0, H) if whole else (lo, hi)
    packed = a[2] if whole else team.array_at(a[3], count, np.int64)[t]
    pre = team.array_at(a[4], (count, G, B), dtype)[0 if whole else t]
    _forward_loop(a[1], packed, pre[:4 * (j1 - j0)], team.array_at(a[5], (T, G, B), dtype),
                  team.array_at(a[6], G, dtype), team.array_at(a[7], (H, B), dtype),
                  team.array_at(a[8], (H, B), dtype), team.array_at(a[9], G, dtype),
                  team.array_at(a[10], G, dtype), team.array_at(a[11], (T, G, B), dtype),
                  team.array_at(a[12], (T, H, B), dtype), team.array_at(a[13], (T, H, B), dtype),
                  team.array_at(a[14], (T, H, B), dtype), a[15] != 0, a[0] == 8, dtype(0),
                  j0, j1, 0 if whole else a[20])


@numba.cfunc(team.SHARE, **team.options(_forward.py_func))
def _forward_share(data: Any, lo: int, hi: int, t: int) -> None:
    # compute, the whole W_hh packed, its rows per thread packed (addresses), pre (a
    # (4H, B) scratch per thread), xg, bias, h0, c0, scale, shift, acts, cs,
    # tcs, hs, reverse, T, H, B, threads asked for, barrier
    a = team.arguments(data, 20)
    if a[0] == 4:
        _forward_team(a, lo, hi, t, team.running(data), np.float32)
    else:
        _forward_team(a, lo, hi, t, team.running(data), np.float64)


@kernel
def _backward_team(a: Any, lo: int, hi: int, t: int, running: int, dtype: Any) -> None:
    T, H, B, count = a[13], a[14], a[15], a[16]
    G = 4 * H
    whole = running != count
    if whole and t > 0:
        return
    j0, j1 = (0, H) if whole else (lo, hi)
    packed = a[2] if whole else team.array_at(a[3], count, np.int64)[t]
    _backward_loop(a[1], packed, team.array_at(a[4], (T, H, B), dtype),
                   team.array_at(a[5], (H, B), dtype), team.array_at(a[6], (H, B), dtype),
                   team.array_at(a[7], (T, G, B), dtype), team.array_at(a[8], (H, B), dtype),
                   team.array_at(a[9], (T, H, B), dtype), team.array_at(a[10], (T, H, B), dtype),
                   team.array_at(a[11], (T, G, B), dtype), a[12] != 0,
                   team.array_at(a[17], 1, dtype), j0, j1, 0 if whole else a[18])


@numba.cfunc(team.SHARE, **team.options(_backward.py_func))
def _backward_share(data: Any, lo: int, hi: int, t: int) -> None:
    # compute, the whole W_hhᵀ packed, its rows per thread packed (addresses), gh, dh, dc,
    # acts, c0, cs, tcs, dg, reverse, T, H, B, threads asked for, constants (1), barrier
    a = team.arguments(data, 18)
    if a[0] == 4:
        _backward_team(a, lo, hi, t, team.running(data), np.float32)
    else:
        _backward_team(a, lo, hi, t, team.running(data), np.float64)


UNITS = 32
"""Hidden units a thread of MKL's team takes at least in the time loops."""


def _team_count(H: int) -> int:
    """Threads of MKL's team for the time loops over H hidden units (0: none), at most one per
    core this process may run on: at a barrier each step, a thread waiting for one the OS has
    descheduled waits out its time slice (four threads on two cores ran the lstm step in 8.9
    ms, against 5.9 on two)."""
    if mkl.team() is None:
        return 0
    return min(threads.get_num_threads(), H // UNITS, _CORES)


_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _shares(H: int, count: int) -> list[tuple[int, int]]:
    """Each thread's hidden units, as ``kernels.team`` shares them out."""
    return [(H * t // count, H * (t + 1) // count) for t in range(count)]


def packed_steps(recurrent: Callable[[np.ndarray, np.ndarray], Any], xg: np.ndarray,
                 bias: np.ndarray, h0: np.ndarray, c0: np.ndarray, scale: np.ndarray,
                 shift: np.ndarray, acts: np.ndarray, cs: np.ndarray, tcs: np.ndarray,
                 hs: np.ndarray, reverse: bool) -> bool:
    """Where ``recurrent`` is MKL's packed W_hh (``mkl.Packed``), run the forward time loop
    as one compiled call and return True: for each step t in time order (reversed with
    ``reverse``), the product W_hh h_{t−1} (h0 before the first step) and ``lstm_cell``'s
    math fill acts[t], cs[t], tcs[t], hs[t] from it and xg[t] (T, 4H, B). False, with nothing
    run, otherwise. NOTE: a Python loop costs about 7 µs a step, a third of a 512×128 by
    128×32 product.

    On MKL's team the hidden units are shared out: each thread multiplies by its units' rows
    of W_hh and runs their gate math, and the threads meet at a barrier each step. NOTE: one
    thread's product of half the rows takes as long as MKL's two threads' of all (56 µs at
    hidden 256, batch 32), so what this saves is the gate math's second half and MKL's own
    fork and join each step: char-lstm's step 28.6 -> 26.5 ms, lstm's 6.4 -> 5.95."""
    if not isinstance(recurrent, mkl.Packed):
        return False
    T, G, B = xg.shape
    H = G // 4
    compute, exact, zero = mkl.compute_address(xg.dtype), approx.exact(xg), xg.dtype.type(0)
    count = _team_count(H)
    if count < 2:
        pre = np.empty((G, B), xg.dtype)
        _forward_loop(compute, recurrent.address, pre, xg, bias, h0, c0, scale, shift, acts, cs,
                      tcs, hs, reverse, exact, zero, 0, H, 0)
        return True
    gates = np.arange(4)[:, None] * H
    parts = [recurrent.rows((gates + np.arange(j0, j1)).reshape(-1))
             for j0, j1 in _shares(H, count)]
    addresses = np.array([p.address for p in parts], np.int64)
    pre = np.empty((count, G, B), xg.dtype)
    arrays = (xg, bias, h0, c0, scale, shift, acts, cs, tcs, hs)
    team.run(_forward_share, H, xg.itemsize,
             [compute, recurrent.address, addresses.ctypes.data, pre.ctypes.data,
              *(a.ctypes.data for a in arrays), reverse, T, H, B, count, mkl.team().barrier],
             count)
    return True


def packed_steps_backward(recurrent: Callable[[np.ndarray, np.ndarray], Any], gh: np.ndarray,
                          dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c0: np.ndarray,
                          cs: np.ndarray, tcs: np.ndarray, dg: np.ndarray,
                          reverse: bool) -> bool:
    """Where ``recurrent`` is MKL's packed W_hhᵀ, run the backward time loop as one compiled
    call and return True: from the last step processed to the first, ``lstm_cell_backward``'s
    math fills dg[t] (T, 4H, B) from gh[t] (T, H, B), and the product W_hhᵀ dg[t] goes into
    dh; dh and dc (H, B) start as ∂/∂h and ∂/∂c after the last step and end as ∂/∂h0 and
    ∂/∂c0. False, with nothing run, otherwise. On MKL's team the hidden units are shared out
    as in ``packed_steps``."""
    if not isinstance(recurrent, mkl.Packed):
        return False
    T, G, B = acts.shape
    H = G // 4
    compute, k = mkl.compute_address(acts.dtype), approx.constants(acts.dtype, 1.0)
    count = _team_count(H)
    if count < 2:
        _backward_loop(compute, recurrent.address, gh, dh, dc, acts, c0, cs, tcs, dg, reverse,
                       k, 0, H, 0)
        return True
    parts = [recurrent.rows(slice(j0, j1)) for j0, j1 in _shares(H, count)]
    addresses = np.array([p.address for p in parts], np.int64)
    arrays = (gh, dh, dc, acts, c0, cs, tcs, dg)
    team.run(_backward_share, H, acts.itemsize,
             [compute, recurrent.address, addresses.ctypes.data,
              *(a.ctypes.data for a in arrays), reverse, T, H, B, count, k.ctypes.data,
              mkl.team().barrier], count)
    return True
