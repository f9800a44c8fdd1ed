"""Reshaping layers: ``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector``, ``ZeroPadding2D``,
``Cropping2D``, ``UpSampling2D`` (channels-last, batch dim untouched)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule.keras.layers.layer import Layer, Shape, ntuple
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class _Reshaping(Layer):
    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)


class Flatten(_Reshaping):
    """(N, d1, d2, ...) → (N, d1·d2·…), in channels-last order as in Keras.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Flatten()(keras.Input((4, 4, 3))).shape
        (None, 48)
    """

    min_ndim = 1
    config_keys = ("data_format",)

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = "channels_last" if data_format is None else data_format

    def _build_shape(self, shape: Shape) -> Shape:
        return (None, *shape[1:])

    def call(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)


class Reshape(_Reshaping):
    """(N, ...) → (N, *target_shape); one entry of ``target_shape`` may be -1 (inferred).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Reshape((3, 4))(keras.Input((12,))).shape
        (None, 3, 4)
    """

    config_keys = ("target_shape",)

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        target = tuple(target_shape)
        if sum(1 for d in target if d == -1) > 1 or any(d == 0 or d < -1 for d in target):
            raise ValueError(f"Reshape: target_shape can hold positive ints and at most one "
                             f"-1. Received: target_shape={target_shape}")
        super().__init__(**kwargs)
        self.target_shape = target

    def call(self, x: Tensor) -> Tensor:
        size = math.prod(x.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (size % known if -1 in self.target_shape else size != known):
            raise ValueError(f"Reshape: total size of the new array must be unchanged, "
                             f"input_shape = {list(x.shape[1:])}, output_shape = "
                             f"{list(self.target_shape)}")
        return x.reshape(x.shape[0], *self.target_shape)


class Permute(_Reshaping):
    """Permute the non-batch dims: ``dims`` is a permutation of 1…ndim−1 (1-based).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Permute((2, 1))(keras.Input((10, 64))).shape
        (None, 64, 10)
    """

    config_keys = ("dims",)

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Invalid permutation argument `dims` for Permute Layer. The set "
                             f"of indices in `dims` must be consecutive and start from 1. "
                             f"Received dims={dims}")
        super().__init__(**kwargs)
        self.dims = dims

    def call(self, x: Tensor) -> Tensor:
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"Permute: dims={self.dims} need inputs of rank "
                             f"{len(self.dims) + 1}, got shape {tuple(x.shape)}")
        return x.permute(0, *self.dims)


class RepeatVector(_Reshaping):
    """(N, F) → (N, n, F): the vector repeated ``n`` times.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.RepeatVector(3)(keras.Input((32,))).shape
        (None, 3, 32)
    """

    input_ndim = 2
    config_keys = ("n",)

    def __init__(self, n: int, **kwargs: Any) -> None:
        if not isinstance(n, int):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        super().__init__(**kwargs)
        self.n = n

    def call(self, x: Tensor) -> Tensor:
        return x.unsqueeze(1).expand(x.shape[0], self.n, x.shape[1])


def _pairs(value: Any, what: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, (h, w) or ((top, bottom), (left, right)) as the last form."""
    if isinstance(value, int):
        value = (value, value)
    if len(value) == 2 and all(isinstance(v, int) for v in value):
        value = ((value[0], value[0]), (value[1], value[1]))
    pairs = tuple(ntuple(v, 2, what, layer, minimum=0) for v in value)
    if len(pairs) != 2:
        raise ValueError(f"`{what}` should have two elements. Received: {what}={value}.")
    return pairs  # type: ignore[return-value]


class ZeroPadding2D(_Reshaping):
    """Zero rows and columns around (N, H, W, C): ``padding`` is an int, (h, w) symmetric, or
    ((top, bottom), (left, right)).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.ZeroPadding2D(1)(keras.Input((4, 4, 3))).shape
        (None, 6, 6, 3)
    """

    input_ndim = 4
    config_keys = ("padding", "data_format")

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding", "ZeroPadding2D")
        self.data_format = "channels_last" if data_format is None else data_format

    def call(self, x: Tensor) -> Tensor:
        (top, bottom), (left, right) = self.padding
        return F.pad(x, (0, 0, left, right, top, bottom))


class Cropping2D(_Reshaping):
    """Remove rows and columns from the edges of (N, H, W, C): ``cropping`` as in
    ``ZeroPadding2D``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Cropping2D(((1, 1), (2, 2)))(keras.Input((8, 8, 3))).shape
        (None, 6, 4, 3)
    """

    input_ndim = 4
    config_keys = ("cropping", "data_format")

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping", "Cropping2D")
        self.data_format = "channels_last" if data_format is None else data_format

    def call(self, x: Tensor) -> Tensor:
        (top, bottom), (left, right) = self.cropping
        h, w = x.shape[1:3]
        if top + bottom >= h or left + right >= w:
            raise ValueError(f"Values in `cropping` argument should be smaller than the "
                             f"corresponding spatial dimension of the input. Received: "
                             f"input_shape={(None, *x.shape[1:])}, cropping={self.cropping}")
        return x[:, top:h - bottom, left:w - right]


class UpSampling2D(_Reshaping):
    """Repeat rows and columns of (N, H, W, C) by ``size``; ``interpolation='bilinear'``
    resamples with half-pixel centres instead (``F.interpolate``, align_corners=False).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.UpSampling2D(2)(keras.Input((4, 4, 3))).shape
        (None, 8, 8, 3)
    """

    input_ndim = 4
    config_keys = ("size", "data_format", "interpolation")

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: `interpolation` argument should be one of: "
                             f"'nearest', 'bilinear'. Received: interpolation={interpolation!r}")
        super().__init__(**kwargs)
        self.size = ntuple(size, 2, "size", "UpSampling2D")
        self.data_format = "channels_last" if data_format is None else data_format
        self.interpolation = interpolation

    def call(self, x: Tensor) -> Tensor:
        sh, sw = self.size
        if self.interpolation == "nearest":
            return x.repeat_interleave(sh, dim=1).repeat_interleave(sw, dim=2)
        n, h, w, _ = x.shape
        y = F.interpolate(x.permute(0, 3, 1, 2), size=(h * sh, w * sw), mode="bilinear",
                          align_corners=False)
        return y.permute(0, 2, 3, 1)


__all__ = ["Cropping2D", "Flatten", "Permute", "RepeatVector", "Reshape", "UpSampling2D",
           "ZeroPadding2D"]
