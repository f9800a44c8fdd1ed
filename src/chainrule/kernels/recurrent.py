"""An LSTM cell's pointwise gate math for one time step, forward and backward, one kernel call
each (the recurrent GEMM stays in BLAS, between the calls).

Gates are laid out [i f g o] along the last axis of a (B, 4H) array; σ(x) = ½·tanh(x/2) + ½
(one tanh form for all four gates, as the NumPy form of ``LSTMSequence`` computes them).

NOTE: each loop writes one place per array and never writes an array it reads at another
offset: LLVM cannot tell such accesses apart and falls back to scalar code (a 4-gate loop
writing ``acts[j], acts[H + j], …`` ran 10× slower than these split loops).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels import approx
from chainrule.kernels.approx import kernel


@kernel
def _forward(pre: Any, xg: Any, bias: Any, c_prev: Any, scale: Any, shift: Any, acts: Any,
             c: Any, tc: Any, h: Any, exact: bool) -> None:
    B, H = c.shape
    for b in range(B):
        p, x, a = pre[b], xg[b], acts[b]
        for j in range(4 * H):
            s = scale[j]
            a[j] = s * approx.tanh(s * (p[j] + x[j] + bias[j]), exact) + shift[j]
        cp, cr, tr, hr = c_prev[b], c[b], tc[b], h[b]
        for j in range(H):
            cn = a[H + j] * cp[j] + a[j] * a[2 * H + j]
            t = approx.tanh(cn, exact)
            cr[j] = cn
            tr[j] = t
            hr[j] = a[3 * H + j] * t


@kernel
def _backward(gh: Any, dh_next: Any, dc: Any, acts: Any, c_prev: Any, tc: Any, dg: Any,
              k: Any) -> None:
    one = k[0]
    B, H = dc.shape
    for b in range(B):
        a, d, dcr, g, n, t, cp = acts[b], dg[b], dc[b], gh[b], dh_next[b], tc[b], c_prev[b]
        for j in range(H):  # dc += dh·o·(1 − tanh² c);  d_o = dh·tanh c·σ′(o)
            dh = g[j] + n[j]
            o = a[3 * H + j]
            d[3 * H + j] = dh * t[j] * o * (one - o)
            dcr[j] = dcr[j] + dh * o * (one - t[j] * t[j])
        for j in range(H):  # d_i = dc·g·σ′(i)
            d[j] = dcr[j] * a[2 * H + j] * a[j] * (one - a[j])
        for j in range(H):  # d_f = dc·c_{t−1}·σ′(f)
            d[H + j] = dcr[j] * cp[j] * a[H + j] * (one - a[H + j])
        for j in range(H):  # d_g = dc·i·(1 − g²)
            d[2 * H + j] = dcr[j] * a[j] * (one - a[2 * H + j] * a[2 * H + j])
        for j in range(H):  # ∂/∂c_{t−1} = dc·f
            dcr[j] = dcr[j] * a[H + j]


def lstm_cell(pre: np.ndarray, xg: np.ndarray, bias: np.ndarray, c_prev: np.ndarray,
              scale: np.ndarray, shift: np.ndarray, acts: np.ndarray, c: np.ndarray,
              tc: np.ndarray, h: np.ndarray) -> None:
    """One step forward: acts (B, 4H) = scale·tanh(scale·(pre + xg + bias)) + shift, the gates
    [i f g o] (scale ½ and shift ½ on i, f, o give σ; 1 and 0 on g give tanh), and c, tc, h
    (B, H) receive c_t = f⊙c_prev + i⊙g, tanh c_t and h_t = o⊙tanh c_t. ``pre`` is
    W_hh h_{t−1}, ``xg`` W_ih x_t, ``bias`` (4H,) b_ih + b_hh; no output may share memory
    with an input."""
    _forward(pre, xg, bias, c_prev, scale, shift, acts, c, tc, h, approx.exact(pre))


def lstm_cell_backward(gh: np.ndarray, dh_next: np.ndarray, dc: np.ndarray, acts: np.ndarray,
                       c_prev: np.ndarray, tc: np.ndarray, dg: np.ndarray) -> None:
    """One step of backpropagation through time. With dh = gh + dh_next (B, H): dg (B, 4H)
    receives the gate pre-activations' gradient, and dc (B, H), holding ∂/∂c_t from the step
    after, becomes ∂/∂c_{t−1}."""
    _backward(gh, dh_next, dc, acts, c_prev, tc, dg, approx.constants(acts.dtype, 1.0))
