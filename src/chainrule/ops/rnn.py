"""Fused recurrent primitive: a whole LSTM layer direction over a sequence.

NOTE: composed from primitives, one LSTM time step is ~10 graph nodes (matmul, add, four gate
slices, three nonlinearities, the cell update), each paying Python dispatch forward and
backward, and slicing the precomputed input projection per step makes its backward scatter a
full-size zero array per step (quadratic in the sequence length). This op runs the time loop
on raw arrays instead: per step one GEMM for the recurrent term of all four gates and six
in-place ufunc calls for the nonlinearities and cell update; the backward is the hand-written
backpropagation through time with one GEMM per step. The op takes the layer's input and both
weights (as oneDNN's LSTM layer does): the input projection of all steps is one GEMM before the
loop, and the gradients of W_ih and W_hh are one GEMM over all steps' [x_t h_{t−1}] after it.
Measured on the benchmark LSTM (in 32, hidden 128, T 50, batch 32, Adam):
see ``benchmarks/run.py --only lstm`` and the numbers in the commit message. With the compiled
kernels on (``chainrule.kernels``), each step's gate math, bias included, is one kernel call
forward and one backward instead of the ufunc calls.

When the backward itself is recorded (``create_graph=True``) the op falls back to
differentiating the composite graph of the same computation, so higher derivatives stay exact.
"""

from __future__ import annotations

from typing import Any

from chainrule import backend, kernels
from chainrule.autograd import tangents as forward_mode
from chainrule.autograd.autocast_policy import cast_inputs
from chainrule.autograd.autocast_policy import policy as autocast
from chainrule.autograd.engine import grad
from chainrule.autograd.function import Op
from chainrule.autograd.grad_mode import _mode, enable_grad
from chainrule.backend import Array, xp
from chainrule.ops.dual import make_dual
from chainrule.ops.linalg import linear
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
    """One direction of an LSTM layer over a whole sequence, input projection included.

    Inputs: ``x`` (T, B, I); ``w_ih`` (4H, I); ``w_hh`` (4H, H); ``h0``, ``c0`` (B, H);
    optionally ``b`` (4H,), the summed biases b_ih + b_hh. Output (T + 1, B, H): rows 0..T−1
    are the hidden states h_t by position (for ``reverse=True`` the sequence is processed from
    T−1 down to 0), row T is the final cell state.

    Per step, with gates [i f g o] = W_ih x_t + b + W_hh h_{t−1}:
    i, f, o = σ(·), g = tanh(·), c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t).
    Backward (BPTT): dc_t += dh_t⊙o⊙(1 − tanh² c_t); d[i f g o] = [dc⊙g, dc⊙c_{t−1}, dc⊙i,
    dh⊙tanh c_t] ⊙ (activation derivatives); dh_{t−1} = dgates W_hh; dc_{t−1} = dc⊙f;
    ∂/∂[W_ih W_hh] = Σ_t dgates_tᵀ [x_t h_{t−1}] (one GEMM for both); ∂/∂x_t = dgates_t W_ih;
    ∂/∂b = Σ_t dgates_t.
    """

    name = "lstm_sequence"
    reverse: bool

    def forward(self, x: Array, w_ih: Array, w_hh: Array, h0: Array, c0: Array,
                b: Array | None = None) -> Array:
        T, B, n_in = x.shape
        G, H = w_hh.shape
        if (w_ih.shape != (G, n_in) or G != 4 * H or h0.shape != (B, H) or c0.shape != (B, H)
                or (b is not None and b.shape != (G,))):
            shapes = ", ".join(f"{k} {v.shape}" for k, v in zip(
                ("x", "w_ih", "w_hh", "h0", "c0", "b"), (x, w_ih, w_hh, h0, c0, b))
                if v is not None)
            raise RuntimeError(f"lstm_sequence: shapes {shapes} do not fit together")
        dt = xp.result_type(x, w_ih, w_hh, h0, c0, *(() if b is None else (b,)))
        low = backend.is_bfloat16(dt)  # (under autocast: computed in float32, rounded once)
        if low:
            dt = xp.dtype(xp.float32)
        x, w_ih, w_hh = (a.astype(dt, copy=False) for a in (x, w_ih, w_hh))
        bias = xp.zeros(G, dt) if b is None else b.astype(dt, copy=False)
        h, c = h0.astype(dt, copy=False), c0.astype(dt, copy=False)
        out = xp.empty((T + 1, B, H), dt)
        if kernels.fits(x, w_ih, w_hh, h, c, bias):
            xg = backend.matmul(w_ih, x.transpose(0, 2, 1))  # W_ih x_t, gate by batch: (T, 4H, B)
            self.saved = self._loop_kernel(xg, w_hh, h, c, bias, out)
        else:
            xg = backend.matmul(x.reshape(T * B, n_in), w_ih.T).reshape(T, B, G)  # W_ih x_t
            self.saved = self._loop_numpy(xg, w_hh, h, c, bias, out)
        self.states = out
        return out.astype(backend.bfloat16()) if low else out

    def _steps(self, T: int) -> range:
        return range(T - 1, -1, -1) if self.reverse else range(T)

    def _loop_kernel(self, xg: Array, w_hh: Array, h: Array, c: Array, bias: Array,
                     out: Array) -> tuple[Array, ...]:
        """The time loop with one compiled kernel per step for the gate math, gate by batch
        (``kernels.recurrent``): ``xg`` and the saved arrays are (T, 4H, B) and (T, H, B)."""
        T, G, B = xg.shape
        H, dt = G // 4, xg.dtype
        acts = xp.empty((T, G, B), dt)  # i f g o after their nonlinearities
        cs = xp.empty((T, H, B), dt)    # cell states
        tcs = xp.empty((T, H, B), dt)   # their tanh
        hs = xp.empty((T, H, B), dt)    # hidden states
        scale, shift, _ = _gate_consts(H, dt)
        recurrent = backend.products_by(w_hh, B)
        h, c = xp.ascontiguousarray(h.T), xp.ascontiguousarray(c.T)
        if not kernels.recurrent.packed_steps(recurrent, xg, bias, h, c, scale, shift, acts, cs,
                                              tcs, hs, self.reverse):
            pre = xp.empty((G, B), dt)  # W_hh h_{t−1}
            cell = kernels.recurrent.lstm_cell
            for t in self._steps(T):
                recurrent(h, pre)
                cell(pre, xg[t], bias, c, scale, shift, acts[t], cs[t], tcs[t], hs[t])
                h, c = hs[t], cs[t]
        out[:T] = hs.transpose(0, 2, 1)
        out[T] = cs[0 if self.reverse else T - 1].T if T else c.T
        return acts, None, cs, tcs, None

    def _loop_numpy(self, xg: Array, w_hh: Array, h: Array, c: Array, bias: Array,
                    out: Array) -> tuple[Array, ...]:
        """The time loop in NumPy ufuncs, in place."""
        whT = xp.ascontiguousarray(w_hh.T)  # NN GEMM per step: ~15% faster than through .T
        T, B, G = xg.shape
        H = G // 4
        scale, add, dcoef = _gate_consts(H, xg.dtype)
        xg += bias
        acts = xp.empty((T, B, G), xg.dtype)   # i f g o after their nonlinearities
        dacts = xp.empty((T, B, G), xg.dtype)  # their derivatives
        cs = xp.empty((T, B, H), xg.dtype)     # cell states
        tcs = xp.empty((T, B, H), xg.dtype)    # their tanh
        ok = xp.empty((T, B, H), xg.dtype)     # o ⊙ (1 − tanh² c): dh → dc
        tmp = xp.empty((B, H), xg.dtype)
        for t in self._steps(T):
            a = acts[t]
            backend.matmul(h, whT, out=a)
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
        return acts, dacts, cs, tcs, ok

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if _mode.enabled or forward_mode.levels or type(g) is not Tensor:  # (batched: vmap)
            return _composite_grads(self, g)
        return tuple(None if x is None else Tensor._wrap(x.astype(t.dtype, copy=False))
                     for x, t in zip(self._bptt(g.array), self.inputs))

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
        x, w_ih, w_hh, h0, c0 = (t.array for t in self.inputs[:5])
        T, (B, H), n_in = x.shape[0], h0.shape, x.shape[-1]
        dt = self.saved[0].dtype
        w_hh, c0 = w_hh.astype(dt, copy=False), c0.astype(dt, copy=False)
        gy = xp.ascontiguousarray(gy, dt)
        first = self._first(T)
        bptt = self._bptt_numpy if self.saved[1] is not None else self._bptt_kernel
        dg2, dh, dc = bptt(gy, w_hh, c0)  # (T·B, 4H); ∂/∂h0, ∂/∂c0
        need = self.needs_input_grad
        gx = gw_ih = gw_hh = None
        if need[0]:
            gx = backend.matmul(dg2, w_ih.astype(dt, copy=False)).reshape(T, B, n_in)
        if need[1] or need[2]:
            xh = xp.empty((T, B, n_in + H), dt)  # [x_t h_{t−1}] for every step
            xh[..., :n_in] = x
            src, dst = (slice(1, T), slice(0, T - 1)) if self.reverse else \
                (slice(0, T - 1), slice(1, T))
            xh[dst, :, n_in:] = self.states[src]
            xh[first, :, n_in:] = h0
            gw = backend.matmul(dg2.T, xh.reshape(T * B, n_in + H))
            gw_ih = xp.ascontiguousarray(gw[:, :n_in]) if need[1] else None
            gw_hh = xp.ascontiguousarray(gw[:, n_in:]) if need[2] else None
        grads = (gx, gw_ih, gw_hh, dh if need[3] else None, dc if need[4] else None)
        if len(need) == 6:  # (a row of ones times dg2: 1.5-3x faster than column sums)
            grads += (backend.matmul(xp.ones((1, T * B), dt), dg2)[0] if need[5] else None,)
        return grads

    def _first(self, T: int) -> int:
        """The step whose state before is (h0, c0)."""
        return T - 1 if self.reverse else 0

    def _cell_before(self, t: int, c0: Array, cs: Array) -> Array:
        """The cell state that step ``t`` started from: c0 for the first step, else the state
        of the step before it in processing order (``cs`` indexed by position)."""
        return c0 if t == self._first(len(cs)) else cs[t + 1 if self.reverse else t - 1]

    def _bptt_kernel(self, gy: Array, w_hh: Array, c0: Array) -> tuple[Array, Array, Array]:
        """The backward time loop with one compiled kernel per step, gate by batch."""
        acts, _, cs, tcs, _ = self.saved
        T, G, B = acts.shape
        H, dt = G // 4, acts.dtype
        gh = xp.ascontiguousarray(gy[:T].transpose(0, 2, 1))  # (T, H, B)
        dg = xp.empty((T, G, B), dt)  # the gate pre-activations' gradients
        dc = xp.ascontiguousarray(gy[T].T)
        dh = xp.zeros((H, B), dt)      # ∂/∂h_{t−1} from step t
        recurrent = backend.products_by(w_hh.T, B)
        c0 = xp.ascontiguousarray(c0.T)
        if not kernels.recurrent.packed_steps_backward(recurrent, gh, dh, dc, acts, c0, cs, tcs,
                                                       dg, self.reverse):
            cell_backward = kernels.recurrent.lstm_cell_backward
            for t in reversed(self._steps(T)):
                c_prev = self._cell_before(t, c0, cs)
                cell_backward(gh[t], dh, dc, acts[t], c_prev, tcs[t], dg[t])
                recurrent(dg[t], dh)
        # (4H, T·B), whose transpose is the (T·B, 4H) gradient the weights' GEMMs read
        dg = xp.ascontiguousarray(dg.transpose(1, 0, 2)).reshape(G, T * B)
        return dg.T, xp.ascontiguousarray(dh.T), xp.ascontiguousarray(dc.T)

    def _bptt_numpy(self, gy: Array, w_hh: Array, c0: Array) -> tuple[Array, Array, Array]:
        """The backward time loop in NumPy ufuncs."""
        acts, dacts, cs, tcs, ok = self.saved
        T, B, G = acts.shape
        H = G // 4
        dg = xp.empty((T, B, G), acts.dtype)  # the gate pre-activations' gradients
        dc = gy[T].copy()
        dh = xp.zeros((B, H), acts.dtype)     # ∂/∂h_{t−1} from step t
        for t in reversed(self._steps(T)):
            c_prev = self._cell_before(t, c0, cs)
            d, a = dg[t], acts[t]
            dh += gy[t]
            dc += dh * ok[t]
            xp.multiply(dc, a[:, 2 * H:3 * H], out=d[:, :H])
            xp.multiply(dc, c_prev, out=d[:, H:2 * H])
            xp.multiply(dc, a[:, :H], out=d[:, 2 * H:3 * H])
            xp.multiply(dh, tcs[t], out=d[:, 3 * H:])
            d *= dacts[t]
            dc *= a[:, H:2 * H]
            backend.matmul(d, w_hh, out=dh)
        return dg.reshape(T * B, G), dh, dc


def lstm_step_composite(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """One LSTM cell update from the gate pre-activations (B, 4H) and c_{t−1}, from primitives."""
    i, f, g, o = gates.chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def lstm_sequence_composite(x: Tensor, w_ih: Tensor, w_hh: Tensor, h0: Tensor, c0: Tensor,
                            b: Tensor | None = None, reverse: bool = False) -> Tensor:
    """The same output as ``LSTMSequence`` built from primitives (one node per elementary op)."""
    if autocast.dtype is not None:  # cast as the fused op's inputs are
        x, w_ih, w_hh, h0, c0 = cast_inputs(LSTMSequence.name, (x, w_ih, w_hh, h0, c0))
        b = None if b is None else cast_inputs(LSTMSequence.name, (b,))[0]
    T = x.shape[0]
    xg = linear(x, w_ih, b)
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


def lstm_sequence(x: Tensor, w_ih: Tensor, w_hh: Tensor, h0: Tensor, c0: Tensor,
                  b: Tensor | None = None, reverse: bool = False) -> Tensor:
    """Run one LSTM direction over a sequence x (T, B, I) (see ``LSTMSequence``); (T + 1, B, H)
    out."""
    args = (x, w_ih, w_hh, h0, c0) if b is None else (x, w_ih, w_hh, h0, c0, b)
    return LSTMSequence.apply(*args, reverse=reverse)
