"""Pooling layers on channels-last inputs: ``Max/AveragePooling1D/2D`` (``padding="valid"`` or
``"same"``) and ``Global{Average,Max}Pooling1D/2D``.

``padding="same"`` follows TensorFlow/Keras: the output has ⌈n/s⌉ positions, the padding is
split with the extra element at the end, max pooling ignores it and average pooling divides
by the number of real elements in each window.
"""

from __future__ import annotations

from typing import Any

import chainrule as cr
from chainrule.keras.layers.convolutional import _same_pads
from chainrule.keras.layers.layer import Layer, Shape, ntuple
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class _Pooling(Layer):
    rank = 2
    input_ndim = 4
    config_keys = ("pool_size", "padding", "strides", "data_format")

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        kind, n = type(self).__name__, self.rank
        padding = padding.lower() if isinstance(padding, str) else padding
        if padding not in ("valid", "same"):
            raise ValueError(f"{kind}: the `padding` argument must be one of 'valid', 'same'. "
                             f"Received: padding={padding!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{kind}: only data_format='channels_last' is supported. "
                             f"Received: data_format={data_format!r}")
        self.padding, self.data_format = padding, "channels_last"
        self.pool_size = ntuple(pool_size, n, "pool_size", kind)
        self.strides = self.pool_size if strides is None else ntuple(strides, n, "strides", kind)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def _widths(self, x: Tensor) -> list[int]:
        """F.pad's widths for ``padding='same'`` on channels-first ``x`` (last dim first)."""
        widths: list[int] = []
        for n, k, s in zip(x.shape[2:], self.pool_size, self.strides):
            widths = [*_same_pads(n, k, s, 1), *widths]
        return widths

    def call(self, x: Tensor) -> Tensor:
        n = self.rank
        y = self._pool(x.permute(0, n + 1, *range(1, n + 1)))
        return y.permute(0, *range(2, n + 2), 1)


class _MaxPooling(_Pooling):
    def _pool(self, x: Tensor) -> Tensor:
        if self.padding == "same":
            x = F.pad(x, self._widths(x), value=float("-inf"))
        pool = F.max_pool1d if self.rank == 1 else F.max_pool2d
        return pool(x, self.pool_size, self.strides)


class _AveragePooling(_Pooling):
    def _pool(self, x: Tensor) -> Tensor:
        pool = F.avg_pool1d if self.rank == 1 else F.avg_pool2d
        if self.padding == "valid":
            return pool(x, self.pool_size, self.strides)
        widths = self._widths(x)
        ones = cr.ones(1, 1, *x.shape[2:], dtype=x.dtype)
        count = pool(F.pad(ones, widths), self.pool_size, self.strides)
        return pool(F.pad(x, widths), self.pool_size, self.strides) / count


class MaxPooling1D(_MaxPooling):
    """Max over windows of ``pool_size`` steps of (N, T, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.MaxPooling1D(2)(cr.tensor([[[1.0], [5.0], [2.0], [3.0]]])).flatten()
        tensor([5., 3.])
    """

    rank = 1
    input_ndim = 3


class MaxPooling2D(_MaxPooling):
    """Max over ``pool_size`` windows of (N, H, W, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.MaxPooling2D((2, 2))(keras.Input((26, 26, 32))).shape
        (None, 13, 13, 32)
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_AveragePooling):
    """Mean over windows of ``pool_size`` steps of (N, T, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.AveragePooling1D(2)(cr.tensor([[[1.0], [3.0], [5.0], [7.0]]])).flatten()
        tensor([2., 6.])
    """

    rank = 1
    input_ndim = 3


class AveragePooling2D(_AveragePooling):
    """Mean over ``pool_size`` windows of (N, H, W, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.AveragePooling2D(2)(keras.Input((28, 28, 3))).shape
        (None, 14, 14, 3)
    """

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = 2
    input_ndim = 4
    config_keys = ("data_format", "keepdims")

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__}: only data_format='channels_last' is "
                             f"supported. Received: data_format={data_format!r}")
        super().__init__(**kwargs)
        self.data_format, self.keepdims = "channels_last", keepdims

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    @property
    def _axes(self) -> tuple[int, ...]:
        return tuple(range(1, self.rank + 1))


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps: (N, T, C) → (N, C); masked steps (mask False) are left out.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.GlobalAveragePooling1D()(cr.tensor([[[1.0], [3.0]]]))
        tensor([[2.]])
    """

    rank = 1
    input_ndim = 3

    def call(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            return x.mean(dim=1, keepdim=self.keepdims)
        m = mask.to(x.dtype).unsqueeze(-1)
        return (x * m).sum(dim=1, keepdim=self.keepdims) / m.sum(dim=1, keepdim=self.keepdims)


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over H and W: (N, H, W, C) → (N, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.GlobalAveragePooling2D()(keras.Input((7, 7, 16))).shape
        (None, 16)
    """

    def call(self, x: Tensor) -> Tensor:
        return x.mean(dim=self._axes, keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps: (N, T, C) → (N, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.GlobalMaxPooling1D()(cr.tensor([[[1.0], [3.0]]]))
        tensor([[3.]])
    """

    rank = 1
    input_ndim = 3

    def call(self, x: Tensor) -> Tensor:
        return x.amax(dim=self._axes, keepdim=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Max over H and W: (N, H, W, C) → (N, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.GlobalMaxPooling2D()(keras.Input((7, 7, 16))).shape
        (None, 16)
    """

    def call(self, x: Tensor) -> Tensor:
        return x.amax(dim=self._axes, keepdim=self.keepdims)


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D

__all__ = ["AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D"]
