"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their single-step cells.

PyTorch's parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...), gate order (LSTM
i, f, g, o; GRU r, z, n with n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))) and init
U(−1/√hidden, 1/√hidden). The input projection of all time steps is one matmul before the time
loop; each step then costs one matmul (h W_hhᵀ) for all gates together. The LSTM runs each
direction of each layer as one fused primitive (``chainrule.ops.rnn.LSTMSequence``); set
``lstm.fused = False`` to build the same computation from elementary ops instead.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.amp.autocast_mode import autocast
from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module, Parameter
from chainrule.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from chainrule.ops.elementwise import where
from chainrule.ops.linalg import linear
from chainrule.ops.movement import cat, stack
from chainrule.ops.rnn import lstm_sequence, lstm_sequence_composite, lstm_step_composite
from chainrule.tensor import Tensor

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _init_uniform(module: Module, hidden_size: int) -> None:
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    with no_grad():
        for p in module.parameters():
            p.uniform_(-stdv, stdv)


def _param(dtype: Any, *shape: int) -> Parameter:
    return Parameter(xp.empty(shape, float_or_default(dtype)))


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """GRU update from the input part gi = W_ih x + b_ih (B, 3H) and h_{t−1}."""
    H = h.shape[-1]
    gh = linear(h, w_hh, b_hh)
    rz = (gi[..., :2 * H] + gh[..., :2 * H]).sigmoid()
    r, z = rz[..., :H], rz[..., H:]
    n = (gi[..., 2 * H:] + r * gh[..., 2 * H:]).tanh()
    return n + z * (h - n)


def _rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, relu: bool) -> Tensor:
    """Elman update from gi = W_ih x + b_ih + b_hh and h_{t−1}."""
    pre = gi + h @ w_hh.mT
    return pre.relu() if relu else pre.tanh()


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``nn.RNNBase``).

    Example:
        >>> import chainrule as cr
        >>> issubclass(cr.nn.LSTM, cr.nn.RNNBase), issubclass(cr.nn.GRU, cr.nn.RNNBase)
        (True, True)
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             f"projections, got {proj_size}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be a positive integer, got {num_layers}")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size="
                             f"{proj_size} and hidden_size={hidden_size}")
        self.proj_size = proj_size
        self.fused = mode == "LSTM"
        gates = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        out_size = proj_size or hidden_size  # (of h, and of each direction's output)
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else out_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, _param(dtype, gates, n_in))
                setattr(self, "weight_hh" + sfx, _param(dtype, gates, out_size))
                if bias:
                    setattr(self, "bias_ih" + sfx, _param(dtype, gates))
                    setattr(self, "bias_hh" + sfx, _param(dtype, gates))
                if proj_size:
                    setattr(self, "weight_hr" + sfx, _param(dtype, proj_size, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size)."""
        _init_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op, as in PyTorch on the CPU: the weights need no contiguous cuDNN buffer."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        return s

    def _weights(self, layer: int, d: int) -> tuple[Any, ...]:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        get = self._parameters.get
        return (get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
                get("bias_hh" + sfx), get("weight_hr" + sfx))

    def _direction(self, x: Tensor, layer: int, d: int, h0: Tensor, c0: Tensor | None,
                   live: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """Run one direction of one layer over x (T, B, n_in): (outputs (T, B, H), h_T, c_T).
        With ``live`` (T, B, 1) bool (a packed batch), each sequence's state stops at its last
        live step (the reverse direction starts there) and outputs past it are zero."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(layer, d)
        rev = bool(d)
        T = x.shape[0]
        if self.mode == "GRU":
            gi = linear(x, w_ih, b_ih)
            if live is not None:
                return masked_loop(T, rev, lambda t, h: (_gru_step(gi[t], h, w_hh, b_hh),),
                                    (h0,), live)
            return self._loop(T, rev, lambda t, h: (_gru_step(gi[t], h, w_hh, b_hh),), (h0,))
        b = None if b_ih is None else b_ih + b_hh
        if w_hr is not None:  # h_t = W_hr (o ⊙ tanh c_t): the composite step, then the projection
            xg = linear(x, w_ih, b)

            def projected(t: int, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
                h, c = lstm_step_composite(xg[t] + h @ w_hh.mT, c)
                return h @ w_hr.mT, c

            if live is not None:
                return masked_loop(T, rev, projected, (h0, c0), live)  # type: ignore[arg-type]
            return self._loop(T, rev, projected, (h0, c0))  # type: ignore[arg-type]
        if self.mode == "LSTM" and live is None:
            assert c0 is not None
            run = lstm_sequence if self.fused else lstm_sequence_composite
            y = run(x, w_ih, w_hh, h0, c0, b, reverse=rev)
            return y[:T], y[0 if rev else T - 1], y[T]
        xg = linear(x, w_ih, b)
        if live is not None:
            if self.mode == "LSTM":
                return masked_loop(T, rev, lambda t, h, c: lstm_step_composite(
                    xg[t] + h @ w_hh.mT, c), (h0, c0), live)  # type: ignore[arg-type]
            relu = self.mode == "RNN_RELU"
            return masked_loop(T, rev, lambda t, h: (_rnn_step(xg[t], h, w_hh, relu),),
                                (h0,), live)
        relu = self.mode == "RNN_RELU"
        return self._loop(T, rev, lambda t, h: (_rnn_step(xg[t], h, w_hh, relu),), (h0,))

    @staticmethod
    def _loop(T: int, rev: bool, step: Any, state: tuple[Tensor, ...]
              ) -> tuple[Tensor, Tensor, Tensor | None]:
        """``state = step(t, *state)`` over the steps; (the h of every step stacked, h_T,
        c_T or None)."""
        hs: list[Any] = [None] * T
        for t in (range(T - 1, -1, -1) if rev else range(T)):
            state = step(t, *state)
            hs[t] = state[0]
        return stack(hs, 0), state[0], (state[1] if len(state) > 1 else None)

    def _run(self, input: Any, hx: Any) -> tuple[Any, Any]:
        if isinstance(input, PackedSequence):
            return run_packed(self, input, hx)
        lstm = self.mode == "LSTM"
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: expected input with 2 (unbatched) or 3 "
                             f"dims, got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input.size(-1) must be equal to "
                             f"input_size. Expected {self.input_size}, got {input.shape[-1]}")
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise RuntimeError(f"{type(self).__name__}: expected sequence length to be larger "
                               f"than 0, got input of shape {tuple(input.shape)}")
        B = x.shape[1]
        shapes = self._state_shapes(B)
        if hx is None:
            h0 = Tensor._wrap(xp.zeros(shapes[0], x.dtype))
            c0 = Tensor._wrap(xp.zeros(shapes[1], x.dtype)) if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            for name, s, shape in (("hx", h0, shapes[0]), ("cx", c0, shapes[1])):
                if s is not None and tuple(s.shape) != shape:
                    raise RuntimeError(f"{type(self).__name__}: expected {name} of shape "
                                       f"{shape}, got {tuple(s.shape)}")
        x, hn, cn = self._layers(x, h0, c0)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if not batched:
            x, hn = x.squeeze(1), hn.squeeze(1)
            cn = cn.squeeze(1) if cn is not None else None
        return x, ((hn, cn) if lstm else hn)

    def _state_shapes(self, batch: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """The shapes of h and c over all layers and directions: (L·D, B, proj_size or H) and
        (L·D, B, H)."""
        rows = self.num_layers * (2 if self.bidirectional else 1)
        return ((rows, batch, self.proj_size or self.hidden_size),
                (rows, batch, self.hidden_size))

    def _layers(self, x: Tensor, h0: Tensor, c0: Tensor | None,
                live: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """Every layer and direction over x (T, B, in) from states (L·D, B, H): (output,
        h_n, c_n)."""
        dirs = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                out, h, c = self._direction(x, layer, d, h0[k],
                                            c0[k] if c0 is not None else None, live)
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else cat(outs, -1)
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        return x, stack(h_n, 0), (stack(c_n, 0) if self.mode == "LSTM" else None)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (or ReLU).

    Args:
        input_size, hidden_size, num_layers, nonlinearity ('tanh' | 'relu'), bias, batch_first,
        dropout (between layers, training only), bidirectional: as in ``torch.nn.RNN``.

    Shape:
        input (T, B, in) — (B, T, in) with ``batch_first`` — or unbatched (T, in); h_0 and
        h_n (num_layers·D, B, H); output (T, B, D·H). D = 2 if bidirectional else 1.
        Weights weight_ih_l{k} (H, in or D·H), weight_hh_l{k} (H, H), all ~ U(−1/√H, 1/√H).
        The input may be a ``PackedSequence`` (``nn.utils.rnn``); the output is then one too,
        and h_n holds each sequence's state at its last real step.

    Example:
        >>> import chainrule as cr
        >>> rnn = cr.nn.RNN(input_size=3, hidden_size=5, num_layers=2)
        >>> out, h = rnn(cr.ones(7, 2, 3))
        >>> out.shape, h.shape
        (chainrule.Size([7, 2, 5]), chainrule.Size([2, 2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx)


class LSTM(RNNBase):
    """Long short-term memory: gates [i f g o] = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh;
    c_t = σ(f)⊙c_{t−1} + σ(i)⊙tanh(g), h_t = σ(o)⊙tanh(c_t).

    Shape:
        as ``RNN``; ``forward(input, (h_0, c_0))`` returns ``(output, (h_n, c_n))``. Weights
        weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H), biases (4H,), all ~ U(−1/√H, 1/√H).
        With ``proj_size`` P > 0 (as in PyTorch), h_t = W_hr (o ⊙ tanh c_t): h and each
        direction's output have P features, weight_hh_l{k} is (4H, P) and weight_hr_l{k}
        (P, H); c keeps H.

    Example:
        >>> import chainrule as cr
        >>> lstm = LSTM(3, 5, batch_first=True)
        >>> out, (h, c) = lstm(cr.randn(2, 7, 3))
        >>> out.shape, h.shape
        (chainrule.Size([2, 7, 5]), chainrule.Size([1, 2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return self._run(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(W_i{r,z} x + b_i + W_h{r,z} h + b_h),
    n = tanh(W_in x + b_in + r⊙(W_hn h + b_hn)), h_t = (1 − z)⊙n + z⊙h_{t−1}.

    Shape:
        as ``RNN``; weights weight_ih_l{k} (3H, in), weight_hh_l{k} (3H, H), ~ U(−1/√H, 1/√H).

    Example:
        >>> import chainrule as cr
        >>> gru = cr.nn.GRU(input_size=3, hidden_size=5, batch_first=True)
        >>> out, h = gru(cr.ones(2, 7, 3))
        >>> out.shape, h.shape
        (chainrule.Size([2, 7, 5]), chainrule.Size([1, 2, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self._run(input, hx)


class RNNCellBase(Module):
    """The base of ``RNNCell``, ``LSTMCell`` and ``GRUCell``: ``weight_ih`` (gates·H, input_size)
    and ``weight_hh`` (gates·H, H), with optional biases, for one time step.

    Example:
        >>> import chainrule as cr
        >>> cell = cr.nn.LSTMCell(3, 4)
        >>> isinstance(cell, cr.nn.RNNCellBase), cell.weight_ih.shape
        (True, chainrule.Size([16, 3]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _param(dtype, gates * hidden_size, input_size)
        self.weight_hh = _param(dtype, gates * hidden_size, hidden_size)
        if bias:
            self.bias_ih = _param(dtype, gates * hidden_size)
            self.bias_hh = _param(dtype, gates * hidden_size)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(−1/√hidden_size, 1/√hidden_size)."""
        _init_uniform(self, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _prep(self, input: Tensor, hx: Any) -> tuple[Tensor, bool]:
        if input.ndim not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input has {input.shape[-1]} features, "
                             f"expected input_size={self.input_size}")
        batched = input.ndim == 2
        return (input if batched else input.unsqueeze(0)), batched

    def _state(self, s: Tensor | None, x: Tensor, batched: bool) -> Tensor:
        if s is None:
            return Tensor._wrap(xp.zeros((x.shape[0], self.hidden_size), x.dtype))
        return s if batched else s.unsqueeze(0)


class RNNCell(RNNCellBase):
    """One Elman step h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or ReLU).

    Shape: input (B, in) or (in,); hidden (B, H) or (H,). Init U(−1/√H, 1/√H).

    Example:
        >>> import chainrule as cr
        >>> cell = cr.nn.RNNCell(3, 4, nonlinearity="relu")
        >>> cell(cr.ones(2, 3)).shape
        chainrule.Size([2, 4])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._prep(input, hx)
        h = self._state(hx, x, batched)
        pre = linear(x, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        out = pre.relu() if self.nonlinearity == "relu" else pre.tanh()
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (h, c) → (h', c') (the fused primitive over a single step).

    Shape: input (B, in) or (in,); h, c (B, H) or (H,). Weights (4H, in) and (4H, H), biases
    (4H,), gate order i, f, g, o, init U(−1/√H, 1/√H).

    Example:
        >>> import chainrule as cr
        >>> cell = cr.nn.LSTMCell(3, 4)
        >>> h, c = cell(cr.ones(2, 3))
        >>> h.shape, c.shape
        (chainrule.Size([2, 4]), chainrule.Size([2, 4]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        x, batched = self._prep(input, hx)
        h0, c0 = (None, None) if hx is None else hx
        h, c = self._state(h0, x, batched), self._state(c0, x, batched)
        b = None if self.bias_ih is None else self.bias_ih + self.bias_hh
        with autocast("cpu", enabled=False):  # PyTorch's lstm_cell is on no autocast list
            y = lstm_sequence(x.unsqueeze(0), self.weight_ih, self.weight_hh, h, c, b)
        h1, c1 = y[0], y[1]
        return (h1, c1) if batched else (h1.squeeze(0), c1.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step h → h' (PyTorch's formulation, b_hn inside the reset gate product).

    Shape: input (B, in) or (in,); hidden (B, H) or (H,). Weights (3H, in) and (3H, H), gate
    order r, z, n, init U(−1/√H, 1/√H).

    Example:
        >>> import chainrule as cr
        >>> cell = cr.nn.GRUCell(3, 4)
        >>> h = cell(cr.ones(2, 3))
        >>> cell(cr.ones(2, 3), h).shape
        chainrule.Size([2, 4])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._prep(input, hx)
        h = self._state(hx, x, batched)
        out = _gru_step(linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                        self.bias_hh)
        return out if batched else out.squeeze(0)


# ---- PackedSequence input: each direction of each layer runs over the padded batch (in the
# packed, length-sorted order) with every sequence's steps masked by its length, so its state
# stops at its last real step (where the reverse direction starts) and its outputs past that step
# are zero; the result is packed again, and the states are in the caller's batch order, as in
# PyTorch.
def masked_loop(T: int, rev: bool, step: Any, state: tuple[Tensor, ...],
                live: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """The time loop of a packed batch: a step changes the state only where ``live[t]``, and
    outputs past a sequence's end are zero."""
    hs: list[Any] = [None] * T
    for t in (range(T - 1, -1, -1) if rev else range(T)):
        new = step(t, *state)
        state = tuple(where(live[t], n, o) for n, o in zip(new, state))
        hs[t] = where(live[t], new[0], 0.0)
    return stack(hs, 0), state[0], (state[1] if len(state) > 1 else None)


def run_packed(rnn: RNNBase, input: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
    """The layers over a packed batch: run on its padded form (in the packed, sorted
    order) with each sequence's steps masked by its length; states are in the caller's
    order, as in PyTorch."""
    lstm = rnn.mode == "LSTM"
    x, lengths = pad_packed_sequence(PackedSequence(input.data, input.batch_sizes))
    if x.shape[-1] != rnn.input_size:
        raise ValueError(f"{type(rnn).__name__}: input.size(-1) must be equal to "
                         f"input_size. Expected {rnn.input_size}, got {x.shape[-1]}")
    shapes = rnn._state_shapes(x.shape[1])
    order = input.sorted_indices
    if hx is None:
        h0 = Tensor._wrap(xp.zeros(shapes[0], x.dtype))
        c0 = Tensor._wrap(xp.zeros(shapes[1], x.dtype)) if lstm else None
    else:
        h0, c0 = hx if lstm else (hx, None)
        for name, st, shape in (("hx", h0, shapes[0]), ("cx", c0, shapes[1])):
            if st is not None and tuple(st.shape) != shape:
                raise RuntimeError(f"{type(rnn).__name__}: expected {name} of shape "
                                   f"{shape}, got {tuple(st.shape)}")
        if order is not None:  # the caller's batch order → the packed order
            h0 = h0[:, order]
            c0 = c0[:, order] if c0 is not None else None
    steps = xp.arange(x.shape[0])[:, None, None]
    live = Tensor._wrap(steps < lengths.array[None, :, None])
    out, hn, cn = rnn._layers(x, h0, c0, live)
    packed = pack_padded_sequence(out, lengths)
    result = PackedSequence(packed.data, input.batch_sizes, input.sorted_indices,
                            input.unsorted_indices)
    if input.unsorted_indices is not None:  # back to the caller's order
        hn = hn[:, input.unsorted_indices]
        cn = cn[:, input.unsorted_indices] if cn is not None else None
    return result, ((hn, cn) if lstm else hn)
