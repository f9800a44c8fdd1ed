"""Preprocessing layers: ``Rescaling``, ``Normalization`` (with ``adapt``), ``Resizing``,
``CenterCrop`` (images channels-last, (N, H, W, C) or a single (H, W, C))."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class Rescaling(Layer):
    """``x · scale + offset`` in float32 (e.g. ``Rescaling(1 / 255)``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Rescaling(1 / 255)(cr.tensor([0.0, 255.0]))
        tensor([0., 1.])
    """

    supports_masking = True
    config_keys = ("scale", "offset")

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def _build_shape(self, shape: Shape) -> Any:
        return None   # no weights: batches and single images of any size are welcome

    def call(self, x: Tensor) -> Tensor:
        return x.float() * self.scale + self.offset


class Normalization(Layer):
    """Standardise features: ``(x − mean) / max(√variance, 1e-7)`` per index of ``axis``
    (default the last); ``invert=True`` maps back. The statistics are given (``mean``,
    ``variance``) or learned from data with ``adapt(data)``.

    Weights: buffers ``mean``, ``variance`` (the sizes along ``axis``) and ``count`` (the
    number of samples ``adapt`` saw), non-trainable as in Keras.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> norm = layers.Normalization()
        >>> norm.adapt(cr.tensor([[1.0], [3.0]]))
        >>> norm(cr.tensor([[1.0], [3.0]]))
        tensor([[-1.],
                [ 1.]])
    """

    supports_masking = True
    config_keys = ("axis", "invert")

    def __init__(self, axis: int | Sequence[int] | None = -1, mean: Any = None,
                 variance: Any = None, invert: bool = False, **kwargs: Any) -> None:
        if (mean is None) != (variance is None):
            raise ValueError(f"When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        super().__init__(**kwargs)
        self.axis = (() if axis is None else (axis,) if isinstance(axis, int) else tuple(axis))
        self.invert = invert
        self.input_mean, self.input_variance = mean, variance

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        axis = self.axis[0] if len(self.axis) == 1 else list(self.axis) or None
        config.update(axis=axis, mean=_listed(self.input_mean),
                      variance=_listed(self.input_variance))
        return config

    def _stat_shape(self, shape: Sequence[Any]) -> tuple[int, ...]:
        keep = {a % len(shape) for a in self.axis}
        if 0 in keep:
            raise ValueError(f"Normalization: the batch axis 0 cannot be an `axis`. Received: "
                             f"axis={self.axis}")
        return tuple(int(s) if i in keep else 1 for i, s in enumerate(shape))

    def build(self, input_shape: Shape) -> None:
        shape = self._stat_shape(input_shape)
        if self.input_mean is None:
            mean, var = np.zeros(shape, np.float32), np.ones(shape, np.float32)
        else:
            mean = np.broadcast_to(np.asarray(self.input_mean, np.float32), shape)
            var = np.broadcast_to(np.asarray(self.input_variance, np.float32), shape)
        self.register_buffer("mean", cr.from_numpy(np.array(mean, np.float32)))
        self.register_buffer("variance", cr.from_numpy(np.array(var, np.float32)))
        self.register_buffer("count", cr.zeros((), dtype=cr.int64))

    def _build_shape(self, shape: Shape) -> Shape:
        keep = {a % len(shape) for a in self.axis}
        return tuple(s if i in keep else None for i, s in enumerate(shape))

    def adapt(self, data: Any) -> None:
        """Set ``mean`` and ``variance`` from ``data`` (an array, a Tensor, or an iterable of
        batches), reducing over every axis but ``axis``."""
        if isinstance(data, (np.ndarray, Tensor, list, tuple)):
            arrays = [np.asarray(data.array if isinstance(data, Tensor) else data, np.float64)]
        else:
            arrays = [np.asarray(b.array if isinstance(b, Tensor) else b, np.float64)
                      for b in data]
        shape = (None, *arrays[0].shape[1:])
        if not self.built:
            self.build(shape)
            self.built_input_shape = self._build_shape(shape)
            self.built = True
        stat = tuple(self.mean.shape)
        dims = tuple(i for i, s in enumerate(stat) if s == 1)
        n = sum(int(np.prod([a.shape[d] for d in dims])) for a in arrays)
        mean = sum(a.sum(axis=dims, keepdims=True) for a in arrays) / n
        var = sum(((a - mean) ** 2).sum(axis=dims, keepdims=True) for a in arrays) / n
        self.mean.array[...] = mean
        self.variance.array[...] = var
        self.count.array[...] = n

    def _keras_weights(self) -> list[tuple[Tensor, Any, Any]]:
        """``mean`` and ``variance`` in Keras's shape: the sizes along ``axis`` only."""
        shape = tuple(self.mean.shape)
        keep = {a % len(shape) for a in self.axis}
        kept = tuple(s for i, s in enumerate(shape) if i in keep)
        stat = (lambda a: a.reshape(kept)), (lambda a: np.reshape(a, shape))
        same = (lambda a: a), (lambda a: a)
        return [(self.mean, *stat), (self.variance, *stat), (self.count, *same)]

    def call(self, x: Tensor) -> Tensor:
        std = cr.clamp(self.variance.sqrt(), min=1e-7)
        x = x.float()
        return self.mean + x * std if self.invert else (x - self.mean) / std


def _listed(value: Any) -> Any:
    return np.asarray(value).tolist() if value is not None else None


def _resize(x: Tensor, height: int, width: int, interpolation: str) -> Tensor:
    """Resize channels-last images with half-pixel centres (Keras's ``image.resize``)."""
    mode = {"bilinear": "bilinear", "nearest": "nearest-exact"}[interpolation]
    y = F.interpolate(x.permute(0, 3, 1, 2), size=(height, width), mode=mode,
                      **({"align_corners": False} if mode == "bilinear" else {}))
    return y.permute(0, 2, 3, 1)


class _ImageLayer(Layer):
    """Accepts a batch (N, H, W, C) or one image (H, W, C)."""

    min_ndim = 3
    config_keys = ("height", "width", "data_format")

    def __init__(self, height: int, width: int, data_format: str | None = None,
                 **kwargs: Any) -> None:
        for what, v in (("height", height), ("width", width)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"{type(self).__name__}: `{what}` must be a positive "
                                 f"integer. Received: {what}={v!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__}: only data_format='channels_last' is "
                             f"supported. Received: data_format={data_format!r}")
        super().__init__(**kwargs)
        self.height, self.width, self.data_format = height, width, "channels_last"

    def _build_shape(self, shape: Shape) -> Any:
        return None   # no weights: batches and single images of any size are welcome

    def call(self, x: Tensor) -> Tensor:
        single = x.ndim == 3
        y = self._images(x.unsqueeze(0) if single else x.float())
        return y[0] if single else y

    def _images(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class Resizing(_ImageLayer):
    """Resize images to (height, width): ``interpolation`` 'bilinear' (default) or
    'nearest'; ``crop_to_aspect_ratio=True`` first crops the largest centred window of the
    target's aspect ratio.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Resizing(4, 6)(cr.ones(1, 8, 8, 3)).shape
        chainrule.Size([1, 4, 6, 3])
    """

    config_keys = ("height", "width", "interpolation", "crop_to_aspect_ratio", "data_format")

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, data_format: str | None = None,
                 **kwargs: Any) -> None:
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resizing: `interpolation` must be 'bilinear' or 'nearest'. "
                             f"Received: interpolation={interpolation!r}")
        super().__init__(height, width, data_format, **kwargs)
        self.interpolation, self.crop_to_aspect_ratio = interpolation, crop_to_aspect_ratio

    def _images(self, x: Tensor) -> Tensor:
        if self.crop_to_aspect_ratio:
            x = _aspect_crop(x, self.height, self.width)
        return _resize(x, self.height, self.width, self.interpolation)


def _aspect_crop(x: Tensor, height: int, width: int) -> Tensor:
    """The largest centred window of (N, H, W, C) with the aspect ratio height:width."""
    h, w = x.shape[1:3]
    ch, cw = min(h, int(w * height / width)), min(w, int(h * width / height))
    top, left = int((h - ch) / 2), int((w - cw) / 2)
    return x[:, top:top + ch, left:left + cw]


class CenterCrop(_ImageLayer):
    """The centred (height, width) window of each image; an image smaller than that along a
    side is cropped to the target's aspect ratio and resized (bilinear) instead, as in
    Keras.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.CenterCrop(2, 2)(cr.ones(1, 4, 4, 3)).shape
        chainrule.Size([1, 2, 2, 3])
    """

    def _images(self, x: Tensor) -> Tensor:
        h, w = x.shape[1:3]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, top:top + self.height, left:left + self.width]
        return _resize(_aspect_crop(x, self.height, self.width), self.height, self.width,
                       "bilinear")


__all__ = ["CenterCrop", "Normalization", "Rescaling", "Resizing"]
