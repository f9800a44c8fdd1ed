"""Fused recurrent primitive: a whole LSTM layer direction over a sequence.

NOTE: composed from primitives, one LSTM time step is ~10 graph nodes (matmul, add, four gate
slices, three nonlinearities, the cell update), each paying Python dispatch forward and
backward, and slicing the precomputed input projection per step makes its backward scatter a
full-size zero array per step (quadratic in the sequence length). This op runs the time loop
on raw arrays instead: per step one GEMM for the recurrent term of all four gates and six
in-place ufunc calls for the nonlinearities and cell update; the backward is the hand-written
backpropagation through time with one GEMM per step, and the weight gradient is one GEMM over
all steps. Measured on the benchmark LSTM (in 32, hidden 128, T 50, batch 32, Adam):
see ``benchmarks/run.py --only lstm`` and the numbers in the commit message. With the compiled
kernels on (``chainrule.kernels``), each step's gate math is one kernel call forward and one
backward instead of the ufunc calls.

When the backward itself is recorded (``create_graph=True``) the op falls back to
differentiating the composite graph of the same computation, so higher derivatives stay exact.
"""

from __future__ import annotations

from typing import Any

from chainrule import kernels
from chainrule.autograd import tangents as forward_mode
from chainrule.autograd.engine import grad
from chainrule.autograd.function import Op
from chainrule.autograd.grad_mode import _mode, enable_grad
from chainrule.backend import Array, xp
from chainrule.ops.dual import make_dual
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


def _gate_consts(h: int, dtype: Any) -> tuple[Array, Array, Array]:
    """Per-column constants turning one tanh over all gates into σ for i, f, o and tanh for g:
    σ(x) = ½·tanh(x/2) + ½, so scale the input by ½ (i, f, o) or 1 (g), then affine."""
    half = xp.full(4 * h, 0.5, dtype)
    scale = half.copy()
    scale[2 * h:3 * h] = 1.0
    add = half.copy()
    add[2 * h:3 * h] = 0.0
    deriv = xp.full(4 * h, 0.25, dtype)  # σ' = ¼(1 − t²), tanh' = 1 − t² with t the tanh
    deriv[2 * h:3 * h] = 1.0
    return scale, add, deriv


class LSTMSequence(Op):
    """One direction of an LSTM layer over a whole sequence.

    Inputs: ``xg`` (T, B, 4H), the input projection W_ih x_t + b_ih + b_hh for every step;
    ``w_hh`` (4H, H); ``h0``, ``c0`` (B, H). Output (T + 1, B, H): rows 0..T−1 are the hidden
    states h_t by position (for ``reverse=True`` the sequence is processed from T−1 down to 0),
    row T is the final cell state.

    Per step, with gates [i f g o] = xg_t + W_hh h_{t−1}:
    i, f, o = σ(·), g = tanh(·), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).
    Backward (BPTT): dc_t += dh_t⊙o⊙(1 − tanh² c_t); d[i f g o] = [dc⊙g, dc⊙c_{t−1}, dc⊙i,
    dh⊙tanh c_t] ⊙ (activation derivatives); dh_{t−1} = dgates W_hh; dc_{t−1} = dc⊙f;
    ∂/∂W_hh = Σ_t dgates_tᵀ h_{t−1}; ∂/∂xg = dgates.
    """

    name = "lstm_sequence"
    reverse: bool

    def forward(self, xg: Array, w_hh: Array, h0: Array, c0: Array) -> Array:
        T, B, G = xg.shape
        H = G // 4
        if w_hh.shape != (G, H) or h0.shape != (B, H) or c0.shape != (B, H):
            raise RuntimeError(f"lstm_sequence: shapes xg {xg.shape}, w_hh {w_hh.shape}, h0 "
                               f"{h0.shape}, c0 {c0.shape} do not fit together")
        if kernels.fits(xg, w_hh, h0, c0):
            return self._forward_kernel(xg, w_hh, h0, c0)
        dt = xp.result_type(xg, w_hh, h0, c0)
        scale, add, dcoef = _gate_consts(H, dt)
        out = xp.empty((T + 1, B, H), dt)
        acts = xp.empty((T, B, G), dt)     # i f g o after their nonlinearities
        dacts = xp.empty((T, B, G), dt)    # their derivatives
        cs = xp.empty((T, B, H), dt)       # cell states
        tcs = xp.empty((T, B, H), dt)      # tanh of the cell states
        ok = xp.empty((T, B, H), dt)       # o ⊙ (1 − tanh² c): dh → dc
        whT = xp.ascontiguousarray(w_hh.T)  # NN GEMM per step: ~15% faster than through .T
        tmp = xp.empty((B, H), dt)
        h, c = h0, c0
        for t in (range(T - 1, -1, -1) if self.reverse else range(T)):
            a = acts[t]
            xp.matmul(h, whT, out=a)
            a += xg[t]
            a *= scale
            xp.tanh(a, out=a)
            d = dacts[t]
            xp.multiply(a, a, out=d)
            xp.subtract(1, d, out=d)
            d *= dcoef
            a *= scale
            a += add
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            cn = cs[t]
            xp.multiply(f, c, out=cn)
            xp.multiply(i, g, out=tmp)
            cn += tmp
            tc = tcs[t]
            xp.tanh(cn, out=tc)
            hn = out[t]
            xp.multiply(o, tc, out=hn)
            k = ok[t]
            xp.multiply(tc, tc, out=k)
            xp.subtract(1, k, out=k)
            k *= o
            h, c = hn, cn
        out[T] = c
        self.saved = (acts, dacts, cs, tcs, ok)
        return out

    def _forward_kernel(self, xg: Array, w_hh: Array, h0: Array, c0: Array) -> Array:
        """The forward with one compiled kernel per step for the gate math."""
        T, B, G = xg.shape
        H = G // 4
        xg = xp.ascontiguousarray(xg)
        out = xp.empty((T + 1, B, H), xg.dtype)
        acts = xp.empty((T, B, G), xg.dtype)  # i f g o after their nonlinearities
        cs = xp.empty((T, B, H), xg.dtype)    # cell states
        tcs = xp.empty((T, B, H), xg.dtype)   # their tanh
        whT = xp.ascontiguousarray(w_hh.T)
        scale, shift, _ = _gate_consts(H, xg.dtype)
        pre = xp.empty((B, G), xg.dtype)      # W_hh h_{t−1}
        h, c = xp.ascontiguousarray(h0), xp.ascontiguousarray(c0)
        cell = kernels.recurrent.lstm_cell
        for t in (range(T - 1, -1, -1) if self.reverse else range(T)):
            xp.matmul(h, whT, out=pre)
            cell(pre, xg[t], c, scale, shift, acts[t], cs[t], tcs[t], out[t])
            h, c = out[t], cs[t]
        out[T] = c
        self.saved = (acts, None, cs, tcs, None)
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if _mode.enabled or forward_mode.levels or type(g) is not Tensor:  # (batched: vmap)
            return _composite_grads(self, g)
        return tuple(None if x is None else Tensor._wrap(x) for x in self._bptt(g.array))

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        # The tangent of the composite twin, by forward mode through it (a nested level; the
        # levels outside this one stay open, so higher forward derivatives stay exact).
        level = forward_mode.enter_level()
        try:
            duals = [x if t is None else make_dual(x, t, level)
                     for x, t in zip(self.inputs, tangents)]
            out = lstm_sequence_composite(*duals, reverse=self.reverse)
            return forward_mode.tangent_of(out, level)
        finally:
            forward_mode.exit_level(level)

    def _bptt(self, gy: Array) -> tuple[Array | None, ...]:
        xg, w_hh, h0, c0 = (x.array for x in self.inputs)
        acts, dacts, cs, tcs, ok = self.saved
        T, B, G = acts.shape
        H = G // 4
        dt = acts.dtype
        dg = xp.empty((T, B, G), dt)
        dc = gy[T].astype(dt, copy=True)
        dh_next = None
        steps = range(T) if self.reverse else range(T - 1, -1, -1)
        last = 0 if not self.reverse else T - 1  # the first step processed
        if dacts is None:  # the forward ran the kernel: so does the backward
            dc, dh_next = self._bptt_kernel(gy, dg, dc, c0, steps, last)
        else:
            for t in steps:
                dh = gy[t] if dh_next is None else gy[t] + dh_next
                a = acts[t]
                c_prev = c0 if t == last else cs[t + 1 if self.reverse else t - 1]
                dc += dh * ok[t]
                d = dg[t]
                xp.multiply(dc, a[:, 2 * H:3 * H], out=d[:, :H])
                xp.multiply(dc, c_prev, out=d[:, H:2 * H])
                xp.multiply(dc, a[:, :H], out=d[:, 2 * H:3 * H])
                xp.multiply(dh, tcs[t], out=d[:, 3 * H:])
                d *= dacts[t]
                dc *= a[:, H:2 * H]
                dh_next = d @ w_hh
        need = self.needs_input_grad
        gw = None
        if need[1]:
            hs = xp.asarray(self.out[:T], dt)
            if T == 1:
                gw = dg[0].T @ h0
            elif self.reverse:
                gw = dg[:T - 1].reshape(-1, G).T @ hs[1:].reshape(-1, H) + dg[T - 1].T @ h0
            else:
                gw = dg[1:].reshape(-1, G).T @ hs[:T - 1].reshape(-1, H) + dg[0].T @ h0
        return (dg if need[0] else None, gw, dh_next if need[2] else None,
                dc if need[3] else None)

    def _bptt_kernel(self, gy: Array, dg: Array, dc: Array, c0: Array, steps: range,
                     last: int) -> tuple[Array, Array]:
        """The time loop of ``_bptt`` with one compiled kernel per step: dc and dh after it."""
        w_hh = self.inputs[1].array
        acts, _, cs, tcs, _ = self.saved
        gy = xp.ascontiguousarray(gy, acts.dtype)
        c0 = xp.ascontiguousarray(c0, acts.dtype)
        dh_next = xp.zeros_like(dc)  # read by each step's kernel, then overwritten
        cell_backward = kernels.recurrent.lstm_cell_backward
        for t in steps:
            c_prev = c0 if t == last else cs[t + 1 if self.reverse else t - 1]
            cell_backward(gy[t], dh_next, dc, acts[t], c_prev, tcs[t], dg[t])
            xp.matmul(dg[t], w_hh, out=dh_next)
        return dc, dh_next


def lstm_step_composite(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM cell update from the gate pre-activations (B, 4H) and c_{t−1}, from primitives."""
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def lstm_sequence_composite(xg: Tensor, w_hh: Tensor, h0: Tensor, c0: Tensor,
                            reverse: bool = False) -> Tensor:
    """The same output as ``LSTMSequence`` built from primitives (one node per elementary op)."""
    T = xg.shape[0]
    h, c = h0, c0
    hs: list[Tensor | None] = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        h, c = lstm_step_composite(xg[t] + h @ w_hh.mT, c)
        hs[t] = h
    return cat([x.unsqueeze(0) for x in [*hs, c]], 0)  # type: ignore[union-attr]


def _composite_grads(op: LSTMSequence, g: Tensor) -> tuple[Tensor | None, ...]:
    """Gradients through the composite graph: recorded for ``create_graph``, or carrying
    forward-mode tangents (the engine runs a plain backward with grad mode off, so the composite
    is built with it on)."""
    xs = op.inputs
    record = _mode.enabled
    with enable_grad():
        out = lstm_sequence_composite(*xs, reverse=op.reverse)
        wanted = [x for x, n in zip(xs, op.needs_input_grad) if n]
        # retain_graph: the walk reaches the inputs' own producers, which must survive it
        got = iter(grad([out], wanted, [g], retain_graph=True, create_graph=record,
                        allow_unused=True))
    return tuple(next(got) if n else None for n in op.needs_input_grad)


def lstm_sequence(xg: Tensor, w_hh: Tensor, h0: Tensor, c0: Tensor,
                  reverse: bool = False) -> Tensor:
    """Run one LSTM direction over a sequence (see ``LSTMSequence``); (T + 1, B, H) out."""
    return LSTMSequence.apply(xg, w_hh, h0, c0, reverse=reverse)
