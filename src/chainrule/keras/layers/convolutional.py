"""Convolution layers on channels-last inputs: ``Conv1D/2D/3D``,
``Conv1DTranspose/2DTranspose/3DTranspose``, ``DepthwiseConv2D``, ``SeparableConv2D``.

Each wraps the ``cr.nn`` convolution (channels-first, PyTorch's weight layout) between two
permutes. ``padding="same"`` follows TensorFlow/Keras exactly, also for strided and even
kernels: the total padding ``max((⌈n/s⌉ − 1)·s + (k − 1)·d + 1 − n, 0)`` is split with the
extra element at the end; ``padding="causal"`` (1-D only) pads ``(k − 1)·d`` at the start.
``get_weights()`` gives the kernels in Keras's layout, (*kernel_size, in, out).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule import nn
from chainrule.keras import initializers
from chainrule.keras.layers.core import _WithActivation
from chainrule.keras.layers.layer import Shape, ntuple
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

Array = Any
KerasWeight = tuple[Tensor, Callable[[Array], Array], Callable[[Array], Array]]


def _same_pads(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _transposed(axes: tuple[int, ...]) -> tuple[Callable[[Array], Array],
                                                Callable[[Array], Array]]:
    inverse = tuple(int(i) for i in np.argsort(axes))
    return (lambda a: a.transpose(axes)), (lambda a: a.transpose(inverse))


def _identity() -> tuple[Callable[[Array], Array], Callable[[Array], Array]]:
    return (lambda a: a), (lambda a: a)


class _Conv(_WithActivation):
    """Shared arguments, padding and layout handling of the channels-last convolutions."""

    rank = 2
    input_ndim = 4
    paddings: tuple[str, ...] = ("valid", "same")
    regularized = ("kernel", "bias")
    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format",
                   "dilation_rate", "groups", "activation", "use_bias")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)
        kind, n = type(self).__name__, self.rank
        if filters is not None and (not isinstance(filters, int) or filters <= 0):
            raise ValueError(f"Invalid value for argument `filters`. Expected a strictly "
                             f"positive value. Received filters={filters}.")
        if filters is not None and (not isinstance(groups, int) or groups <= 0 or
                                    filters % groups):
            raise ValueError(f"The number of filters must be evenly divisible by the number "
                             f"of groups. Received: groups={groups}, filters={filters}.")
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in self.paddings:
            raise ValueError(f"{kind}: the `padding` argument must be one of "
                             f"{list(self.paddings)}. Received: padding={padding!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{kind}: only data_format='channels_last' is supported. "
                             f"Received: data_format={data_format!r}")
        self.filters, self.groups, self.padding, self.use_bias = filters, groups, padding, use_bias
        self.data_format = "channels_last"
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", kind)
        self.strides = ntuple(strides, n, "strides", kind)
        self.dilation_rate = ntuple(dilation_rate, n, "dilation_rate", kind)
        if any(s > 1 for s in self.strides) and any(d > 1 for d in self.dilation_rate):
            raise ValueError(f"{kind}: `strides > 1` not supported in conjunction with "
                             f"`dilation_rate > 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")

    def _channels_first(self, x: Tensor) -> Tensor:
        return x.permute(0, self.rank + 1, *range(1, self.rank + 1))

    def _channels_last(self, x: Tensor) -> Tensor:
        return x.permute(0, *range(2, self.rank + 2), 1)

    def _pad(self, x: Tensor) -> Tensor:
        """Zero-pad the spatial dims of channels-first ``x`` as ``padding`` asks."""
        if self.padding == "valid":
            return x
        if self.padding == "causal":
            return F.pad(x, ((self.kernel_size[0] - 1) * self.dilation_rate[0], 0))
        widths: list[int] = []
        for n, k, s, d in zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate):
            widths = [*_same_pads(n, k, s, d), *widths]
        return F.pad(x, widths) if any(widths) else x

    def _make_conv(self, in_channels: int, out_channels: int, groups: int,
                   bias: bool, kernel_size: Any = None, strides: Any = None) -> nn.Module:
        cls = _nn_class("Conv", self.rank)
        conv = cls(in_channels, out_channels, kernel_size or self.kernel_size,
                   strides or self.strides, 0, self.dilation_rate, groups=groups, bias=bias)
        initializers.glorot_uniform(conv.weight.array)
        if bias:
            initializers.zeros(conv.bias.array)
        return conv

    def build(self, input_shape: Shape) -> None:
        c = int(input_shape[-1])  # type: ignore[arg-type]
        if c % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {c} channels (full input shape is {input_shape}).")
        self.conv = self._make_conv(c, self.filters, self.groups, self.use_bias)

    def call_linear(self, x: Tensor) -> Tensor:
        return self._channels_last(self.conv(self._pad(self._channels_first(x))))

    def _keras_weights(self) -> list[KerasWeight]:
        kernel = (self.conv.weight, *_transposed((*range(2, self.rank + 2), 1, 0)))
        return [kernel] + ([(self.conv.bias, *_identity())] if self.use_bias else [])


class Conv1D(_Conv):
    """1-D convolution on (N, T, C) inputs; wraps ``cr.nn.Conv1d``. ``padding`` may also be
    ``"causal"`` (output t sees inputs ≤ t).

    Weights: ``conv.weight`` (filters, C/groups, k) glorot_uniform, ``conv.bias`` (filters,)
    zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Conv1D(8, 3)(keras.Input((10, 4))).shape
        (None, 8, 8)
    """

    rank = 1
    input_ndim = 3
    paddings = ("valid", "same", "causal")


class Conv2D(_Conv):
    """2-D convolution on (N, H, W, C) inputs; wraps ``cr.nn.Conv2d``.

    Weights: ``conv.weight`` (filters, C/groups, kh, kw) glorot_uniform, ``conv.bias``
    (filters,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> conv = layers.Conv2D(32, (3, 3), activation="relu")
        >>> conv(keras.Input((28, 28, 1))).shape
        (None, 26, 26, 32)
        >>> [w.shape for w in conv.get_weights()]
        [(3, 3, 1, 32), (32,)]
    """


class _ConvTranspose(_Conv):
    """Transposed convolution with Keras's (TensorFlow's) output geometry.

    The full transposed convolution (length ``(n − 1)·s + (k − 1)·d + 1``) is cropped and
    zero-extended to Keras's output length: ``valid`` gives ``(n − 1)·s + max(k', s)``, ``same``
    gives ``n·s``, and ``output_padding`` adds to ``(n − 1)·s + k' (valid)`` or
    ``(n − 1)·s + k' mod 2 (same)``, k' = (k − 1)·d + 1.
    """

    config_keys = ("filters", "kernel_size", "strides", "padding", "output_padding",
                   "data_format", "dilation_rate", "activation", "use_bias")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", output_padding: Any = None,
                 data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, **kwargs)
        self.output_padding = (None if output_padding is None else
                               ntuple(output_padding, self.rank, "output_padding",
                                      type(self).__name__, minimum=0))
        for op, s in zip(self.output_padding or (), self.strides):
            if op >= s:
                raise ValueError(f"Strides must be greater than output padding. Received "
                                 f"strides={self.strides}, output_padding="
                                 f"{self.output_padding}.")

    def build(self, input_shape: Shape) -> None:
        self.conv = _nn_class("ConvTranspose", self.rank)(int(input_shape[-1]), self.filters,  # type: ignore[arg-type]
                        self.kernel_size, self.strides, 0, bias=False,
                        dilation=self.dilation_rate)
        initializers.glorot_uniform(self.conv.weight.array.swapaxes(0, 1))
        if self.use_bias:
            self.add_weight("bias", (self.filters,), "zeros")

    def _crop(self, n: int, k: int, s: int, d: int, op: int | None) -> tuple[int, int]:
        """(start, length) of Keras's output inside the full transposed convolution."""
        k = (k - 1) * d + 1
        if self.padding == "valid":
            op = max(k, s) - k if op is None else op
            left, right = k - 1, k - 1 + op
        else:
            pad_len = s + k - 2 if op is None else k + k % 2 - 2 + op
            left = min(pad_len // 2 + pad_len % 2, k - 1)
            right = pad_len - left
        return k - 1 - left, (n - 1) * s - k + 2 + left + right

    def call_linear(self, x: Tensor) -> Tensor:
        x = self._channels_first(x)
        full = self.conv(x)
        ops = self.output_padding or (None,) * self.rank
        index: list[slice] = [slice(None), slice(None)]
        widths: list[int] = []
        for n, m, k, s, d, op in zip(x.shape[2:], full.shape[2:], self.kernel_size,
                                     self.strides, self.dilation_rate, ops):
            start, length = self._crop(n, k, s, d, op)
            index.append(slice(start, start + length))
            widths = [0, max(start + length - m, 0), *widths]
        out = full[tuple(index)]
        if any(widths):
            out = F.pad(out, widths)
        out = self._channels_last(out)
        return out + self.bias if self.use_bias else out

    def _keras_weights(self) -> list[KerasWeight]:
        kernel = (self.conv.weight, *_transposed((*range(2, self.rank + 2), 1, 0)))
        return [kernel] + ([(self.bias, *_identity())] if self.use_bias else [])


class Conv1DTranspose(_ConvTranspose):
    """Transposed 1-D convolution on (N, T, C); wraps ``cr.nn.ConvTranspose1d``.

    Weights: ``conv.weight`` (C, filters, k) glorot_uniform, ``bias`` (filters,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Conv1DTranspose(8, 2, strides=2)(keras.Input((10, 4))).shape
        (None, 20, 8)
    """

    rank = 1
    input_ndim = 3


class Conv2DTranspose(_ConvTranspose):
    """Transposed 2-D convolution on (N, H, W, C); wraps ``cr.nn.ConvTranspose2d``.

    Weights: ``conv.weight`` (C, filters, kh, kw) glorot_uniform, ``bias`` (filters,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Conv2DTranspose(4, 2, strides=2)(keras.Input((7, 7, 8))).shape
        (None, 14, 14, 4)
    """


class Conv3D(_Conv):
    """3-D convolution on (N, D, H, W, C) inputs; wraps ``cr.nn.Conv3d``.

    Weights: ``conv.weight`` (filters, C/groups, kd, kh, kw) glorot_uniform, ``conv.bias``
    (filters,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Conv3D(4, 3)(keras.Input((8, 8, 8, 2))).shape
        (None, 6, 6, 6, 4)
    """

    rank = 3
    input_ndim = 5


class Conv3DTranspose(_ConvTranspose):
    """Transposed 3-D convolution on (N, D, H, W, C); wraps ``cr.nn.ConvTranspose3d``.

    Weights: ``conv.weight`` (C, filters, kd, kh, kw) glorot_uniform, ``bias`` (filters,)
    zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Conv3DTranspose(4, 2, strides=2)(keras.Input((4, 4, 4, 2))).shape
        (None, 8, 8, 8, 4)
    """

    rank = 3
    input_ndim = 5


class DepthwiseConv2D(_Conv):
    """A separate ``depth_multiplier``-channel filter per input channel: a grouped
    ``cr.nn.Conv2d`` with ``groups = C``; output channels ``C · depth_multiplier``, channel
    ``c·m + j`` from input channel c.

    Weights: ``conv.weight`` (C·m, 1, kh, kw) glorot_uniform (Keras's (kh, kw, C, m)),
    ``conv.bias`` (C·m,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.DepthwiseConv2D(3, depth_multiplier=2)(keras.Input((8, 8, 3))).shape
        (None, 6, 6, 6)
    """

    regularized = ()  # (Keras names these weights depthwise_/pointwise_)
    config_keys = ("kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                   "dilation_rate", "activation", "use_bias")

    def __init__(self, kernel_size: Any, strides: Any = (1, 1), padding: str = "valid",
                 depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: Any = (1, 1), activation: Any = None, use_bias: bool = True,
                 **kwargs: Any) -> None:
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"Invalid value for argument `depth_multiplier`. Expected a "
                             f"strictly positive value. Received "
                             f"depth_multiplier={depth_multiplier}.")
        super().__init__(None, kernel_size, strides, padding, data_format,  # type: ignore
                         dilation_rate, 1, activation, use_bias, **kwargs)
        self.depth_multiplier = depth_multiplier

    def build(self, input_shape: Shape) -> None:
        c = int(input_shape[-1])  # type: ignore[arg-type]
        self.conv = self._make_conv(c, c * self.depth_multiplier, c, self.use_bias)
        _glorot_depthwise(self.conv.weight.array, c, self.depth_multiplier)

    def _keras_weights(self) -> list[KerasWeight]:
        kernel = (self.conv.weight, *_depthwise_layout(self.conv.weight.shape,
                                                       self.depth_multiplier))
        return [kernel] + ([(self.conv.bias, *_identity())] if self.use_bias else [])


class SeparableConv2D(_Conv):
    """A depthwise convolution (``depth_multiplier`` filters per input channel, no bias)
    followed by a 1×1 ``pointwise`` convolution to ``filters`` channels with the bias.

    Weights: ``depthwise.weight`` (C·m, 1, kh, kw), ``pointwise.weight`` (filters, C·m, 1, 1),
    both glorot_uniform; ``pointwise.bias`` (filters,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.SeparableConv2D(8, 3)(keras.Input((10, 10, 3))).shape
        (None, 8, 8, 8)
    """

    regularized = ()  # (Keras names these weights depthwise_/pointwise_)
    config_keys = ("filters", "kernel_size", "strides", "padding", "data_format",
                   "dilation_rate", "depth_multiplier", "activation", "use_bias")

    def __init__(self, filters: int, kernel_size: Any, strides: Any = (1, 1),
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = (1, 1), depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         1, activation, use_bias, **kwargs)
        self.depth_multiplier = depth_multiplier

    def build(self, input_shape: Shape) -> None:
        c = int(input_shape[-1])  # type: ignore[arg-type]
        m = self.depth_multiplier
        self.depthwise = self._make_conv(c, c * m, c, False)
        _glorot_depthwise(self.depthwise.weight.array, c, m)
        self.pointwise = self._make_conv(c * m, self.filters, 1, self.use_bias, 1, 1)

    def call_linear(self, x: Tensor) -> Tensor:
        y = self.depthwise(self._pad(self._channels_first(x)))
        return self._channels_last(self.pointwise(y))

    def _keras_weights(self) -> list[KerasWeight]:
        weights = [(self.depthwise.weight, *_depthwise_layout(self.depthwise.weight.shape,
                                                             self.depth_multiplier)),
                   (self.pointwise.weight, *_transposed((2, 3, 1, 0)))]
        return weights + ([(self.pointwise.bias, *_identity())] if self.use_bias else [])


def _nn_class(kind: str, rank: int) -> type[nn.Module]:
    """``cr.nn.Conv{rank}d`` or ``cr.nn.ConvTranspose{rank}d``."""
    return getattr(nn, f"{kind}{rank}d")  # type: ignore[no-any-return]


def _depthwise_layout(shape: tuple[int, ...], m: int) -> tuple[Callable[[Array], Array],
                                                               Callable[[Array], Array]]:
    """PyTorch's grouped weight (C·m, 1, kh, kw) ↔ Keras's depthwise kernel (kh, kw, C, m)."""
    cm, _, kh, kw = shape
    return ((lambda a: a.reshape(cm // m, m, kh, kw).transpose(2, 3, 0, 1)),
            (lambda a: a.transpose(2, 3, 0, 1).reshape(cm, 1, kh, kw)))


def _glorot_depthwise(weight: Array, c: int, m: int) -> None:
    """Keras's glorot_uniform for a (kh, kw, C, m) depthwise kernel, into PyTorch's layout."""
    kh, kw = weight.shape[2:]
    keras = np.empty((kh, kw, c, m), dtype=weight.dtype)
    initializers.glorot_uniform(keras, torch_layout=False)
    weight[...] = _depthwise_layout(weight.shape, m)[1](keras)


__all__ = ["Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D",
           "Conv3DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
