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

from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import mkl
from chainrule.kernels import approx, native
from chainrule.kernels.approx import kernel


@kernel
def _forward(pre: Any, xg: Any, bias: Any, c_prev: Any, scale: Any, shift: Any, acts: Any,
             c: Any, tc: Any, h: Any, exact: bool) -> None:
    H, B = c.shape
    for j in range(4 * H):
        s, k, add = scale[j], bias[j], shift[j]
        for b in range(B):
            acts[j, b] = s * approx.tanh(s * (pre[j, b] + xg[j, b] + k), exact) + add
    for j in range(H):
        for b in range(B):
            cn = acts[H + j, b] * c_prev[j, b] + acts[j, b] * acts[2 * H + j, b]
            t = approx.tanh(cn, exact)
            c[j, b] = cn
            tc[j, b] = t
            h[j, b] = acts[3 * H + j, b] * t


@kernel
def _backward(gh: Any, dh_next: Any, dc: Any, acts: Any, c_prev: Any, tc: Any, dg: Any,
              k: Any) -> None:
    one = k[0]
    H, B = dc.shape
    for j in range(H):  # dc += dh·o·(1 − tanh² c);  d_o = dh·tanh c·σ′(o)
        for b in range(B):
            dh = gh[j, b] + dh_next[j, b]
            o = acts[3 * H + j, b]
            t = tc[j, b]
            dg[3 * H + j, b] = dh * t * o * (one - o)
            dc[j, b] = dc[j, b] + dh * o * (one - t * t)
    for j in range(H):  # d_i = dc·g·σ′(i)
        for b in range(B):
            dg[j, b] = dc[j, b] * acts[2 * H + j, b] * acts[j, b] * (one - acts[j, b])
    for j in range(H):  # d_f = dc·c_{t−1}·σ′(f)
        for b in range(B):
            dg[H + j, b] = dc[j, b] * c_prev[j, b] * acts[H + j, b] * (one - acts[H + j, b])
    for j in range(H):  # d_g = dc·i·(1 − g²)
        for b in range(B):
            g = acts[2 * H + j, b]
            dg[2 * H + j, b] = dc[j, b] * acts[j, b] * (one - g * g)
    for j in range(H):  # ∂/∂c_{t−1} = dc·f
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
    _forward(pre, xg, bias, c_prev, scale, shift, acts, c, tc, h, approx.exact(pre))


def lstm_cell_backward(gh: np.ndarray, dh_next: np.ndarray, dc: np.ndarray, acts: np.ndarray,
                       c_prev: np.ndarray, tc: np.ndarray, dg: np.ndarray) -> None:
    """One step of backpropagation through time, gate by batch. With dh = gh + dh_next (H, B):
    dg (4H, B) receives the gate pre-activations' gradient, and dc (H, B), holding ∂/∂c_t from
    the step after, becomes ∂/∂c_{t−1}."""
    _backward(gh, dh_next, dc, acts, c_prev, tc, dg, approx.constants(acts.dtype, 1.0))


@kernel
def _forward_loop(compute: int, packed: int, xg: Any, bias: Any, h0: Any, c0: Any, scale: Any,
                  shift: Any, acts: Any, cs: Any, tcs: Any, hs: Any, reverse: bool, exact: bool,
                  zero: Any) -> None:
    T, G, B = xg.shape
    H = G // 4
    pre = np.empty((G, B), xg.dtype)
    h, c = h0, c0
    for s in range(T):
        t = T - 1 - s if reverse else s
        native.gemm_compute(compute, 111, G, B, H, packed, H, h.ctypes.data, B, zero,
                            pre.ctypes.data, B)
        _forward(pre, xg[t], bias, c, scale, shift, acts[t], cs[t], tcs[t], hs[t], exact)
        h, c = hs[t], cs[t]


@kernel
def _backward_loop(compute: int, packed: int, gh: Any, dh: Any, dc: Any, acts: Any, c0: Any,
                   cs: Any, tcs: Any, dg: Any, reverse: bool, k: Any) -> None:
    T, G, B = acts.shape
    H = G // 4
    zero = k[0] - k[0]
    for s in range(T):
        t = s if reverse else T - 1 - s
        if s == T - 1:
            c_prev = c0
        else:
            c_prev = cs[t + 1] if reverse else cs[t - 1]
        _backward(gh[t], dh, dc, acts[t], c_prev, tcs[t], dg[t], k)
        native.gemm_compute(compute, 111, H, B, G, packed, G, dg[t].ctypes.data, B, zero,
                            dh.ctypes.data, B)


def packed_steps(recurrent: Callable[[np.ndarray, np.ndarray], Any], xg: np.ndarray,
                 bias: np.ndarray, h0: np.ndarray, c0: np.ndarray, scale: np.ndarray,
                 shift: np.ndarray, acts: np.ndarray, cs: np.ndarray, tcs: np.ndarray,
                 hs: np.ndarray, reverse: bool) -> bool:
    """Where ``recurrent`` is MKL's packed W_hh (``mkl.Packed``), run the forward time loop
    as one compiled call and return True: for each step t in time order (reversed with
    ``reverse``), the product W_hh h_{t−1} (h0 before the first step) and ``lstm_cell``'s
    math fill acts[t], cs[t], tcs[t], hs[t] from it and xg[t] (T, 4H, B). False, with nothing
    run, otherwise. NOTE: a Python loop costs about 7 µs a step, a third of a 512×128 by
    128×32 product."""
    if not isinstance(recurrent, mkl.Packed):
        return False
    _forward_loop(mkl.compute_address(xg.dtype), recurrent.address, xg, bias, h0, c0, scale,
                  shift, acts, cs, tcs, hs, reverse, approx.exact(xg), xg.dtype.type(0))
    return True


def packed_steps_backward(recurrent: Callable[[np.ndarray, np.ndarray], Any], gh: np.ndarray,
                          dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c0: np.ndarray,
                          cs: np.ndarray, tcs: np.ndarray, dg: np.ndarray,
                          reverse: bool) -> bool:
    """Where ``recurrent`` is MKL's packed W_hhᵀ, run the backward time loop as one compiled
    call and return True: from the last step processed to the first, ``lstm_cell_backward``'s
    math fills dg[t] (T, 4H, B) from gh[t] (T, H, B), and the product W_hhᵀ dg[t] goes into
    dh; dh and dc (H, B) start as ∂/∂h and ∂/∂c after the last step and end as ∂/∂h0 and
    ∂/∂c0. False, with nothing run, otherwise."""
    if not isinstance(recurrent, mkl.Packed):
        return False
    _backward_loop(mkl.compute_address(acts.dtype), recurrent.address, gh, dh, dc, acts, c0,
                   cs, tcs, dg, reverse, approx.constants(acts.dtype, 1.0))
    return True
