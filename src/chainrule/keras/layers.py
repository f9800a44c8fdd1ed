"""Keras layers as thin, lazily built wrappers around ``chainrule.nn`` modules.

Tensors are channels-last as in Keras: images are (N, H, W, C), sequences (N, T, C). The
convolution and pooling layers transpose to PyTorch's channels-first layout around the
``cr.nn`` module they hold. A layer learns its input shape on its first call and only then
creates its weights (``build(input_shape)``, Keras's lazy build), with Keras's default
initialisers: glorot_uniform kernels and zero biases.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule import nn
from chainrule.keras import activations, initializers
from chainrule.keras.symbolic import any_symbolic, call_symbolic
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

Shape = tuple[int | None, ...]

_NAME_COUNTS: dict[str, int] = {}


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("2_d", "2d").replace("1_d", "1d")


def _unique_name(base: str) -> str:
    n = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _pair(v: int | Sequence[int], what: str, layer: str) -> tuple[int, int]:
    t = (v, v) if isinstance(v, int) else tuple(v)
    if len(t) != 2 or not all(isinstance(a, int) and a > 0 for a in t):
        raise ValueError(f"{layer}: {what} must be a positive int or a pair of them, got {v!r}")
    return t  # type: ignore[return-value]


class Layer(nn.Module):
    """Base of the Keras layers: a ``cr.nn.Module`` with a name, lazy ``build`` and an input check.

    Subclasses set ``input_ndim`` (exact rank incl. batch) or ``min_ndim``, and implement
    ``build(input_shape)`` (create the wrapped modules) and ``call(x)``.
    """

    input_ndim: int | None = None
    min_ndim: int | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        layer = super().__new__(cls)
        object.__setattr__(layer, "_init_args", (args, kwargs))   # for get_config
        return layer

    def __init__(self, name: str | None = None, input_shape: Sequence[int] | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        self.name = name or _unique_name(_snake(type(self).__name__))
        self.built = False
        self.trainable = trainable
        self.input_shape_arg: Shape | None = \
            None if input_shape is None else tuple(input_shape)
        self.built_input_shape: Shape | None = None
        self.output_shape: Shape | None = None

    # ---- the Keras contract ----
    def build(self, input_shape: Shape) -> None:
        pass

    def call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def __call__(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        """``layer(x)``. On ``KerasTensor`` inputs this records a node of a functional graph
        and returns KerasTensors; ``training=True/False`` sets train/eval behaviour (Dropout,
        BatchNorm) for this call only."""
        if any_symbolic((args, kwargs)):
            return call_symbolic(self, args, kwargs)
        if training is None or bool(training) == self.training:
            return super().__call__(*args, **kwargs)
        was = self.training
        self.train(bool(training))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.train(was)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (defaults filled in) plus ``name`` and ``trainable``:
        ``type(layer).from_config(layer.get_config())`` makes an equal, unbuilt layer."""
        args, kwargs = self.__dict__.get("_init_args", ((), {}))
        bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        config: dict[str, Any] = {}
        for key, param in bound.signature.parameters.items():
            if key == "self":
                continue
            if param.kind is param.VAR_KEYWORD:
                config.update(bound.arguments[key])
            elif param.kind is not param.VAR_POSITIONAL:
                config[key] = bound.arguments[key]
        config.update(name=self.name, trainable=self.trainable)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # ---- machinery ----
    def _check_input(self, shape: Shape) -> None:
        rank = len(shape)
        want = (f"ndim={self.input_ndim}" if self.input_ndim is not None and
                rank != self.input_ndim else
                f"min_ndim={self.min_ndim}" if self.min_ndim is not None and
                rank < self.min_ndim else None)
        if want is not None:
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                             f"incompatible with the layer: expected {want}, found ndim={rank}. "
                             f"Full shape received: {_fmt_shape(shape)}")
        built = self.built_input_shape
        if built is not None and (len(built) != rank or
                                  any(b is not None and b != s
                                      for b, s in zip(built[1:], shape[1:]))):
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) is "
                             f"incompatible with the layer: it was built for inputs of shape "
                             f"{_fmt_shape(built)}, got {_fmt_shape(shape)}")

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = cr.as_tensor(x)
        shape: Shape = (None, *x.shape[1:])
        self._check_input(shape)
        if not self.built:
            self.build(shape)
            self.train(self.training)   # modules made by build take the layer's mode
            self.built_input_shape = self._build_shape(shape)
            self.built = True
            if not self.trainable:
                self.requires_grad_(False)
        out = self.call(x)
        self.output_shape = (None, *out.shape[1:])
        return out

    def _build_shape(self, shape: Shape) -> Shape:
        """The part of the input shape the weights depend on (None elsewhere)."""
        return (None,) * (len(shape) - 1) + (shape[-1],)

    def count_params(self) -> tuple[int, int]:
        """(trainable, non-trainable) counts, Keras-style: BatchNorm's moving statistics count
        as non-trainable parameters."""
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        frozen = sum(p.numel() for p in self.parameters() if not p.requires_grad)
        frozen += sum(b.numel() for n, b in self.named_buffers()
                      if n.endswith(("running_mean", "running_var")))
        return trainable, frozen

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _fmt_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class _WithActivation(Layer):
    def __init__(self, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x: Tensor) -> Tensor:
        return self.activation(self.call_linear(x))

    def call_linear(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={activations.name_of(self.activation)!r}"


class Dense(_WithActivation):
    """``activation(x @ kernel + bias)`` over the last axis; wraps ``cr.nn.Linear``.

    Weights: ``linear.weight`` (units, in) — PyTorch's layout, the transpose of Keras's kernel —
    glorot_uniform; ``linear.bias`` (units,) zeros.
    """

    min_ndim = 2

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 **kwargs: Any) -> None:
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Dense: units must be a positive int, got {units!r}")
        super().__init__(activation, **kwargs)
        self.units, self.use_bias = units, use_bias

    def build(self, input_shape: Shape) -> None:
        self.linear = nn.Linear(int(input_shape[-1]), self.units, bias=self.use_bias)
        initializers.glorot_uniform(self.linear.weight.data)
        if self.use_bias:
            initializers.zeros(self.linear.bias.data)

    def call_linear(self, x: Tensor) -> Tensor:
        return self.linear(x)


class Conv2D(_WithActivation):
    """2-D convolution on (N, H, W, C) inputs; wraps ``cr.nn.Conv2d`` (NCHW) with transposes.

    Weights: ``conv.weight`` (filters, C, kh, kw) glorot_uniform, ``conv.bias`` (filters,) zeros.
    """

    input_ndim = 4
    _dims = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)
        kind = type(self).__name__
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{kind}: filters must be a positive int, got {filters!r}")
        if padding not in ("valid", "same"):
            raise ValueError(f"{kind}: padding must be 'valid' or 'same', got {padding!r}")
        n = self._dims
        tup = _pair if n == 2 else (lambda v, w, l: (v,) if isinstance(v, int) else tuple(v))
        self.filters, self.padding, self.use_bias = filters, padding, use_bias
        self.kernel_size = tup(kernel_size, "kernel_size", kind)
        self.strides = tup(strides, "strides", kind)
        self.dilation_rate = tup(dilation_rate, "dilation_rate", kind)
        if padding == "same" and any(s != 1 for s in self.strides):
            raise ValueError(f"{kind}: padding='same' with strides {self.strides} is not "
                             f"supported; use padding='valid'")

    def build(self, input_shape: Shape) -> None:
        cls = nn.Conv2d if self._dims == 2 else nn.Conv1d
        self.conv = cls(int(input_shape[-1]), self.filters, self.kernel_size, self.strides,
                        self.padding, self.dilation_rate, bias=self.use_bias)
        initializers.glorot_uniform(self.conv.weight.data)
        if self.use_bias:
            initializers.zeros(self.conv.bias.data)

    def call_linear(self, x: Tensor) -> Tensor:
        if self._dims == 2:
            return self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.conv(x.permute(0, 2, 1)).permute(0, 2, 1)


class Conv1D(Conv2D):
    """1-D convolution on (N, T, C) inputs; wraps ``cr.nn.Conv1d``."""

    input_ndim = 3
    _dims = 1


class _Pool2D(Layer):
    input_ndim = 4

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        kind = type(self).__name__
        if padding != "valid":
            raise ValueError(f"{kind}: only padding='valid' is supported, got {padding!r}")
        self.pool_size = _pair(pool_size, "pool_size", kind)
        self.strides = self.pool_size if strides is None else _pair(strides, "strides", kind)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor) -> Tensor:
        return self._pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class MaxPooling2D(_Pool2D):
    """Max pooling over (N, H, W, C); wraps ``cr.nn.MaxPool2d``."""

    def build(self, input_shape: Shape) -> None:
        self._pool = nn.MaxPool2d(self.pool_size, self.strides)


class AveragePooling2D(_Pool2D):
    """Average pooling over (N, H, W, C); wraps ``cr.nn.AvgPool2d``."""

    def build(self, input_shape: Shape) -> None:
        self._pool = nn.AvgPool2d(self.pool_size, self.strides)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D


class GlobalAveragePooling2D(Layer):
    """Mean over H and W: (N, H, W, C) → (N, C)."""

    input_ndim = 4

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor) -> Tensor:
        return x.mean(dim=(1, 2))


class Flatten(Layer):
    """(N, d1, d2, ...) → (N, d1·d2·…), in channels-last order as in Keras."""

    min_ndim = 1

    def _build_shape(self, shape: Shape) -> Shape:
        return (None, *shape[1:])

    def call(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class Dropout(Layer):
    """Zero inputs with probability ``rate`` while training (scaled by 1/(1−rate))."""

    def __init__(self, rate: float, **kwargs: Any) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        super().__init__(**kwargs)
        self.rate = rate

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.rate, self.training)


class Activation(_WithActivation):
    """Apply an activation by name or callable."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call_linear(self, x: Tensor) -> Tensor:
        return x


from chainrule.keras.input_layer import Input, InputLayer  # noqa: E402
from chainrule.keras.recurrent import LSTM, BatchNormalization, Embedding  # noqa: E402

__all__ = ["Activation", "AveragePooling2D", "AvgPool2D", "BatchNormalization", "Conv1D",
           "Conv2D", "Dense", "Dropout", "Embedding", "Flatten", "GlobalAveragePooling2D",
           "Input", "InputLayer", "LSTM", "Layer", "MaxPool2D", "MaxPooling2D"]
