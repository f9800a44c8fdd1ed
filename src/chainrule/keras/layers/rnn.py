"""Recurrent layers with Keras's maths, weights and masking: ``SimpleRNN``, ``LSTM``, ``GRU``,
and the wrappers ``Bidirectional`` and ``TimeDistributed``.

A recurrent layer runs its cell over the steps of (N, T, C). Weights are in Keras's layout:
``kernel`` (C, G·units) glorot_uniform, ``recurrent_kernel`` (units, G·units) orthogonal
(each gate's block), ``bias`` zeros (LSTM: the forget gate's block ones); G gates in Keras's
order — LSTM i, f, c, o; GRU z, r, h. With a mask (N, T) — from ``Embedding(mask_zero=True)``,
``Masking`` or the ``mask`` argument — a masked step keeps the states and repeats the previous
output (zeros before the first real step), or outputs zeros with ``zero_output_for_mask``
(which ``Bidirectional`` sets when it returns sequences), as Keras does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule.keras import activations, initializers
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class _Recurrent(Layer):
    """The shared step loop, masking, dropout and return options of the recurrent layers."""

    input_ndim = 3
    supports_masking = True
    gates = 1
    n_states = 1
    config_keys = ("units", "activation", "recurrent_activation", "use_bias",
                   "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                   "zero_output_for_mask", "dropout", "recurrent_dropout")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        kind = type(self).__name__
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for argument `units`, expected a "
                             f"positive integer, got {units}.")
        if stateful:
            raise ValueError(f"{kind}: stateful=True is not supported")
        for what, v in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{kind}: `{what}` must be in [0, 1]. Received: {what}={v}")
        super().__init__(**kwargs)
        self.units, self.use_bias = units, use_bias
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards, self.stateful, self.unroll = go_backwards, stateful, unroll
        self.zero_output_for_mask = zero_output_for_mask

    def build(self, input_shape: Shape) -> None:
        u, g = self.units, self.gates
        self.add_weight("kernel", (int(input_shape[-1]), g * u),  # type: ignore[arg-type]
                        "glorot_uniform")
        self.add_weight("recurrent_kernel", (u, g * u), "zeros")
        for i in range(g):
            initializers.orthogonal(self.recurrent_kernel.array[:, i * u:(i + 1) * u])
        if self.use_bias:
            self._build_bias()

    def _build_bias(self) -> None:
        self.add_weight("bias", (self.gates * self.units,), "zeros")

    def _input_projection(self, x: Tensor) -> Tensor:
        """x @ kernel (+ the input bias): (N, T, G·units), through the input dropout masks."""
        y = self._gated_matmul(x.transpose(0, 1), self.kernel, self._in_drop).transpose(0, 1)
        return y + self._input_bias() if self.use_bias else y

    def _input_bias(self) -> Tensor:
        return self.bias

    def _gated_matmul(self, a: Tensor, weight: Tensor, drop: Tensor | None,
                      gates: range | None = None) -> Tensor:
        """``a @ weight`` over ``gates`` (all by default), each gate's block seeing ``a``
        through its own dropout mask when ``drop`` holds one per gate (G, N, ·), or through
        the one mask (N, ·)."""
        u = self.units
        gates = gates or range(self.gates)
        if drop is None:
            return a @ weight[:, gates.start * u:gates.stop * u]
        if drop.ndim == 2:
            return (a * drop) @ weight[:, gates.start * u:gates.stop * u]
        return cr.cat([(a * drop[g]) @ weight[:, g * u:(g + 1) * u] for g in gates], dim=-1)

    def _recurrent(self, h: Tensor, gates: range | None = None) -> Tensor:
        """``h @ recurrent_kernel`` over ``gates``, through the recurrent dropout masks."""
        return self._gated_matmul(h, self.recurrent_kernel, self._rec_drop, gates)

    def step(self, xw: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        raise NotImplementedError

    def _dropout_mask(self, like: Tensor, rate: float, training: bool,
                      per_gate: bool) -> Tensor | None:
        """Dropout masks drawn once per sequence and shared by all its steps: one per gate
        (G, N, ·) when ``per_gate`` — Keras's cells do so once ``recurrent_dropout`` is set —
        else one (N, ·)."""
        if not training or rate == 0:
            return None
        shape = (self.gates, *like.shape) if per_gate else tuple(like.shape)
        return F.dropout(like.new_ones(*shape), rate, True)

    def call(self, x: Tensor, mask: Tensor | None = None, training: bool = False,
             initial_state: Sequence[Tensor] | None = None) -> Any:
        n, t = x.shape[0], x.shape[1]
        if initial_state is None:
            states = [x.new_zeros(n, self.units) for _ in range(self.n_states)]
        else:
            states = [cr.as_tensor(s) for s in (initial_state if isinstance(
                initial_state, (list, tuple)) else [initial_state])]
        per_gate = self.recurrent_dropout > 0
        self._in_drop = self._dropout_mask(x[:, 0], self.dropout, training, per_gate)
        self._rec_drop = self._dropout_mask(states[0], self.recurrent_dropout, training,
                                            per_gate)
        xw = self._input_projection(x)
        steps = range(t - 1, -1, -1) if self.go_backwards else range(t)
        output = x.new_zeros(n, self.units)
        outputs = []
        for i in steps:
            h, new_states = self.step(xw[:, i], states)
            if mask is None:
                output, states = h, new_states
            else:
                m = mask[:, i].unsqueeze(-1)
                output = cr.where(m, h, 0.0 if self.zero_output_for_mask else output)
                states = [cr.where(m, a, b) for a, b in zip(new_states, states)]
            if self.return_sequences:
                outputs.append(output)
        out = cr.stack(outputs, dim=1) if self.return_sequences else output
        return [out, *states] if self.return_state else out

    def compute_mask(self, inputs: Tensor, mask: Any = None) -> Any:
        out = mask if self.return_sequences else None
        return [out] + [None] * self.n_states if self.return_state else out

    def _keras_weight_groups(self) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
        return [("cell", self._keras_weights())]


class SimpleRNN(_Recurrent):
    """``h_t = activation(x_t @ kernel + h_{t−1} @ recurrent_kernel + bias)``.

    Weights: ``kernel`` (C, units), ``recurrent_kernel`` (units, units), ``bias`` (units,).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.SimpleRNN(4)(keras.Input((5, 3))).shape
        (None, 4)
    """

    config_keys = tuple(k for k in _Recurrent.config_keys if k != "recurrent_activation")

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(units, activation, "sigmoid", use_bias, dropout, recurrent_dropout,
                         return_sequences, return_state, go_backwards, stateful, unroll,
                         zero_output_for_mask, **kwargs)

    def step(self, xw: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = self.activation(xw + self._recurrent(states[0]))
        return h, [h]


class LSTM(_Recurrent):
    """Long short-term memory: gates i, f, o = σ(·), candidate c̃ = tanh(·),
    ``c_t = f·c_{t−1} + i·c̃``, ``h_t = o·tanh(c_t)``; states [h, c].

    Weights: ``kernel`` (C, 4·units), ``recurrent_kernel`` (units, 4·units), ``bias``
    (4·units,) with the forget block set to 1 (``unit_forget_bias``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> lstm = layers.LSTM(4, return_state=True)
        >>> out, h, c = lstm(keras.Input((5, 3)))
        >>> out.shape, h.shape, c.shape
        ((None, 4), (None, 4), (None, 4))
    """

    gates = 4
    n_states = 2
    config_keys = (*_Recurrent.config_keys, "unit_forget_bias")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 unit_forget_bias: bool = True, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, dropout,
                         recurrent_dropout, return_sequences, return_state, go_backwards,
                         stateful, unroll, zero_output_for_mask, **kwargs)
        self.unit_forget_bias = unit_forget_bias

    def _build_bias(self) -> None:
        super()._build_bias()
        if self.unit_forget_bias:
            self.bias.array[self.units:2 * self.units] = 1.0

    def step(self, xw: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h, c = states
        z = xw + self._recurrent(h)
        i, f, g, o = z.chunk(4, dim=-1)
        sig = self.recurrent_activation
        c = sig(f) * c + sig(i) * self.activation(g)
        h = sig(o) * self.activation(c)
        return h, [h, c]


class GRU(_Recurrent):
    """Gated recurrent unit (Keras's gate order z, r, h):
    ``z, r = σ(x W + b_x + h U + b_h)``, candidate ``h̃ = tanh(x W_h + b_x + r·(h U_h + b_h))``
    (``reset_after=True``, PyTorch's formulation) or ``tanh(x W_h + b + (r·h) U_h)``;
    ``h_t = z·h_{t−1} + (1 − z)·h̃``.

    Weights: ``kernel`` (C, 3·units), ``recurrent_kernel`` (units, 3·units), ``bias``
    (2, 3·units) — input and recurrent biases — or (3·units,) with ``reset_after=False``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.GRU(8)(keras.Input((10, 3))).shape
        (None, 8)
        >>> layers.GRU(8, return_sequences=True)(keras.Input((10, 3))).shape
        (None, 10, 8)
    """

    gates = 3
    config_keys = (*_Recurrent.config_keys, "reset_after")

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, reset_after: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, dropout,
                         recurrent_dropout, return_sequences, return_state, go_backwards,
                         stateful, unroll, zero_output_for_mask, **kwargs)
        self.reset_after = reset_after

    def _build_bias(self) -> None:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.add_weight("bias", shape, "zeros")

    def _input_bias(self) -> Tensor:
        return self.bias[0] if self.reset_after else self.bias

    def step(self, xw: Tensor, states: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        h = states[0]
        u = self.units
        x_z, x_r, x_h = xw.chunk(3, dim=-1)
        sig = self.recurrent_activation
        if self.reset_after:
            inner = self._recurrent(h)
            if self.use_bias:
                inner = inner + self.bias[1]
            i_z, i_r, i_h = inner.chunk(3, dim=-1)
            z, r = sig(x_z + i_z), sig(x_r + i_r)
            cand = self.activation(x_h + r * i_h)
        else:
            inner = self._recurrent(h, range(2))
            z, r = sig(x_z + inner[:, :u]), sig(x_r + inner[:, u:])
            h_h = h if self._rec_drop is None else h * self._rec_drop[2]
            cand = self.activation(x_h + (r * h_h) @ self.recurrent_kernel[:, 2 * u:])
        h = z * h + (1.0 - z) * cand
        return h, [h]


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards (``go_backwards``) and merges
    their outputs: ``merge_mode`` 'concat' (default), 'sum', 'mul', 'ave' or None (a list).

    The two layers are copies of ``layer`` made from its config, named ``forward_<name>`` and
    ``backward_<name>``; with ``return_sequences`` the backward outputs are flipped back into
    time order.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Bidirectional(layers.LSTM(4))(keras.Input((5, 3))).shape
        (None, 8)
    """

    input_ndim = 3
    supports_masking = True

    def __init__(self, layer: _Recurrent, merge_mode: str | None = "concat",
                 backward_layer: _Recurrent | None = None, **kwargs: Any) -> None:
        if not isinstance(layer, _Recurrent):
            raise ValueError(f"Please initialize `Bidirectional` layer with a recurrent "
                             f"layer instance. Received: {layer}")
        if merge_mode not in ("sum", "mul", "ave", "concat", None):
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should "
                             f"be one of {{'sum', 'mul', 'ave', 'concat', None}}")
        super().__init__(**kwargs)
        config = layer.get_config()
        zero = {"zero_output_for_mask": layer.return_sequences}   # Keras forces this
        self.forward_layer = type(layer).from_config(
            {**config, **zero, "name": f"forward_{layer.name}"})
        if backward_layer is None:
            backward_layer = type(layer).from_config(
                {**config, **zero, "name": f"backward_{layer.name}",
                 "go_backwards": not config["go_backwards"]})
        self.backward_layer = backward_layer
        self.layer_config = {"class_name": type(layer).__name__, "config": config}
        self.merge_mode, self.n_states = merge_mode, layer.n_states
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def _build_shape(self, shape: Shape) -> Shape:
        return (None, None, shape[-1])

    def call(self, x: Tensor, mask: Tensor | None = None, training: bool = False) -> Any:
        fw = self.forward_layer(x, mask=mask, training=training)
        bw = self.backward_layer(x, mask=mask, training=training)
        states: list[Tensor] = []
        if self.return_state:
            fw, *fw_states = fw
            bw, *bw_states = bw
            states = [*fw_states, *bw_states]
        if self.return_sequences:
            bw = bw.flip(1)
        if self.merge_mode is None:
            return [fw, bw, *states]
        out = {"concat": lambda: cr.cat([fw, bw], dim=-1), "sum": lambda: fw + bw,
               "mul": lambda: fw * bw, "ave": lambda: (fw + bw) / 2}[self.merge_mode]()
        return [out, *states] if self.return_state else out

    def compute_mask(self, inputs: Tensor, mask: Any = None) -> Any:
        out = mask if self.return_sequences else None
        if self.merge_mode is None:
            return [out, out] + ([None] * (2 * self.n_states) if self.return_state else [])
        return [out] + [None] * (2 * self.n_states) if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(layer=self.layer_config, merge_mode=self.merge_mode)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = {"class_name": type(self.backward_layer).__name__,
                                        "config": self.backward_layer.get_config()}
        return config

    def _keras_weight_groups(self) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
        return [*_nested("forward_layer", self.forward_layer),
                *_nested("backward_layer", self.backward_layer)]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bidirectional:
        config = dict(config)
        inner, backward = config.pop("layer"), config.pop("backward_layer", None)
        return cls(_layer_from(inner), backward_layer=(None if backward is None else
                                                       _layer_from(backward)),
                   **cls._known_kwargs(config))


class TimeDistributed(Layer):
    """Applies ``layer`` to every step of (N, T, ...): the steps are folded into the batch,
    (N·T, ...) → ``layer`` → (N, T, ...).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.TimeDistributed(layers.Dense(8))(keras.Input((10, 16))).shape
        (None, 10, 8)
    """

    min_ndim = 3
    supports_masking = True

    def __init__(self, layer: Layer, **kwargs: Any) -> None:
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `TimeDistributed` layer with a `keras.layers."
                             f"Layer` instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer

    def _build_shape(self, shape: Shape) -> Shape:
        return (None, None, *shape[2:])

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        n, t = x.shape[:2]
        y = self.layer(x.reshape(n * t, *x.shape[2:]), training=training)
        return y.reshape(n, t, *y.shape[1:])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["layer"] = {"class_name": type(self.layer).__name__,
                           "config": self.layer.get_config()}
        return config

    def _keras_weight_groups(self) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
        return _nested("layer", self.layer)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TimeDistributed:
        config = dict(config)
        return cls(_layer_from(config.pop("layer")), **cls._known_kwargs(config))


def _nested(path: str, layer: Layer) -> list[tuple[str, list[tuple[Tensor, Any, Any]]]]:
    return [("/".join(p for p in (path, sub) if p), slots)
            for sub, slots in layer._keras_weight_groups()]


def _layer_from(spec: Any) -> Any:
    """A layer, or one rebuilt from its ``{"class_name": ..., "config": ...}`` entry."""
    if not isinstance(spec, dict):
        return spec
    from chainrule.keras import layers

    return getattr(layers, spec["class_name"]).from_config(spec["config"])


__all__ = ["GRU", "LSTM", "Bidirectional", "SimpleRNN", "TimeDistributed"]
