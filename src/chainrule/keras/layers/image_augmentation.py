"""Random image augmentation layers, active only while training (identity in inference):
``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``.

Images are channels-last, (N, H, W, C) or one (H, W, C); each image draws its own transform.
Rotation, zoom and translation resample through an affine map of output pixel coordinates
to input coordinates, with bilinear (or nearest) interpolation and Keras's ``fill_mode`` for
points outside the image: 'reflect' (d c b a | a b c d | d c b a, the default), 'wrap',
'nearest' (edge pixels) or 'constant' (``fill_value``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule import random as _random
from chainrule.autograd.tape import replayed
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.tensor import Tensor

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _factor_range(factor: Any, what: str, layer: str) -> tuple[float, float]:
    """A factor f as (−f, f), or a (lower, upper) pair; Keras's checks."""
    lower, upper = (-factor, factor) if isinstance(factor, (int, float)) else tuple(factor)
    if upper < lower:
        raise ValueError(f"{layer}: `{what}` lower bound cannot be larger than upper bound. "
                         f"Received: {what}={factor}")
    return float(lower), float(upper)


def _fix_index(i: np.ndarray, n: int, fill_mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Map integer indices into [0, n) by ``fill_mode``: (index, inside) where ``inside`` is
    False for 'constant' points outside the image."""
    if fill_mode == "reflect":
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i), np.ones(i.shape, bool)
    if fill_mode == "wrap":
        return np.mod(i, n), np.ones(i.shape, bool)
    inside = (i >= 0) & (i < n)
    return np.clip(i, 0, n - 1), inside if fill_mode == "constant" else np.ones(i.shape, bool)


@replayed
def _sampling_plan(draw: Callable[[int, int, int], np.ndarray], n: int, h: int, w: int,
                   fill_mode: str, interpolation: str) -> tuple[np.ndarray, ...]:
    """Draw the (N, 2, 3) maps of output (row, col, 1) to input coordinates with ``draw`` and
    turn them into sampling taps: (rows, cols, weights, fill weights) per tap, flattened.

    ``@replayed``: a compiled step draws fresh transforms on every replay.
    """
    matrices = draw(n, h, w)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    grid = np.stack([rows, cols, np.ones_like(rows)])                      # (3, H, W)
    src = np.einsum("nij,jhw->nihw", matrices, grid)                       # (N, 2, H, W)
    if interpolation == "nearest":
        taps = [(np.round(src[:, 0]), np.round(src[:, 1]), np.ones(src[:, 0].shape))]
    else:
        r0, c0 = np.floor(src[:, 0]), np.floor(src[:, 1])
        dr, dc = src[:, 0] - r0, src[:, 1] - c0
        taps = [(r0, c0, (1 - dr) * (1 - dc)), (r0, c0 + 1, (1 - dr) * dc),
                (r0 + 1, c0, dr * (1 - dc)), (r0 + 1, c0 + 1, dr * dc)]
    plan: list[np.ndarray] = []
    for r, c, weight in taps:
        ri, r_in = _fix_index(r.astype(np.int64), h, fill_mode)
        ci, c_in = _fix_index(c.astype(np.int64), w, fill_mode)
        inside = (r_in & c_in).astype(np.float32)
        plan += [ri, ci, (weight * inside).astype(np.float32)[..., None],
                 ((1 - inside) * weight).astype(np.float32)[..., None]]
    return tuple(plan)


def _warp(x: Tensor, plan: tuple[np.ndarray, ...], fill_value: float) -> Tensor:
    """Σ over the taps of ``x`` at (rows, cols) × weight + fill weight × ``fill_value``."""
    batch = np.arange(x.shape[0])[:, None, None]
    out = None
    for k in range(0, len(plan), 4):
        ri, ci, wt, fill = plan[k:k + 4]
        term = x[batch, ri, ci] * cr.from_numpy(wt) + cr.from_numpy(fill) * fill_value
        out = term if out is None else out + term
    assert out is not None
    return out


@replayed
def _coin_flips(n: int, generator: _random.Generator | None) -> np.ndarray:
    """(N, 1, 1, 1) booleans, each True with probability 1/2 (``@replayed``)."""
    return (_random.numpy_generator(generator).random(n) < 0.5).reshape(n, 1, 1, 1)


class _Augmentation(Layer):
    """Identity unless training; draws from ``seed``'s own generator or chainrule's RNG."""

    min_ndim = 3
    config_keys = ("seed",)

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else _random.Generator(seed)

    def _generator(self) -> np.random.Generator:
        return _random.numpy_generator(self._rng)

    def _build_shape(self, shape: Shape) -> Any:
        return None   # no weights: batches and single images of any size are welcome

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training:
            return x
        single = x.ndim == 3
        y = self._augment(x.unsqueeze(0) if single else x.float())
        return y[0] if single else y

    def _augment(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class RandomFlip(_Augmentation):
    """Flip each image left-right and/or up-down with probability 1/2 each: ``mode``
    'horizontal', 'vertical' or 'horizontal_and_vertical' (default).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.RandomFlip("horizontal")(cr.ones(2, 8, 8, 3), training=True).shape
        chainrule.Size([2, 8, 8, 3])
    """

    config_keys = ("mode", "seed")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs: Any) -> None:
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip layer {kwargs.get('name')} received an unknown mode "
                             f"argument {mode}")
        super().__init__(seed, **kwargs)
        self.mode = mode

    def _augment(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        for axis, on in ((2, "horizontal" in self.mode), (1, "vertical" in self.mode)):
            if on:
                flip = cr.from_numpy(_coin_flips(n, self._rng))
                x = cr.where(flip, x.flip(axis), x)
        return x


class _Affine(_Augmentation):
    config_keys = ("fill_mode", "interpolation", "seed", "fill_value")

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        kind = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise NotImplementedError(f"{kind}: unknown `fill_mode` {fill_mode}. Expected of "
                                      f"one {_FILL_MODES}.")
        if interpolation not in ("nearest", "bilinear"):
            raise NotImplementedError(f"{kind}: unknown `interpolation` {interpolation}. "
                                      f"Expected of one ('nearest', 'bilinear').")
        super().__init__(seed, **kwargs)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def _augment(self, x: Tensor) -> Tensor:
        n, h, w = x.shape[:3]
        plan = _sampling_plan(self._matrices, n, h, w, self.fill_mode, self.interpolation)
        return _warp(x, plan, self.fill_value)

    def _matrices(self, n: int, h: int, w: int) -> np.ndarray:
        raise NotImplementedError


def _about_centre(lin: np.ndarray, h: int, w: int) -> np.ndarray:
    """(N, 2, 3) maps ``centre + lin · (p − centre)`` for the (N, 2, 2) linear parts."""
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    shift = centre - np.einsum("nij,j->ni", lin, centre)
    return np.concatenate([lin, shift[..., None]], axis=2)


class RandomRotation(_Affine):
    """Rotate each image by a random angle of ``factor · 2π``: ``factor`` f draws from
    [−f, f], a pair (lower, upper) from that range.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.RandomRotation(0.1)(cr.ones(2, 8, 8, 3), training=True).shape
        chainrule.Size([2, 8, 8, 3])
    """

    config_keys = ("factor", *_Affine.config_keys)

    def __init__(self, factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._range = _factor_range(factor, "factor", "RandomRotation")

    def _matrices(self, n: int, h: int, w: int) -> np.ndarray:
        angle = self._generator().uniform(*self._range, n) * 2 * math.pi
        cos, sin = np.cos(angle), np.sin(angle)
        # output (row, col) → input: col' = cos·col − sin·row, row' = sin·col + cos·row
        lin = np.stack([np.stack([cos, sin], 1), np.stack([-sin, cos], 1)], 1)
        return _about_centre(lin, h, w)


class RandomZoom(_Affine):
    """Zoom each image by a random factor about its centre: the sampled window is
    ``1 + height_factor`` times the image's height (positive factors zoom out, negative zoom
    in); ``width_factor`` likewise, or the same draw as the height when None.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.RandomZoom(0.2)(cr.ones(2, 8, 8, 3), training=True).shape
        chainrule.Size([2, 8, 8, 3])
    """

    config_keys = ("height_factor", "width_factor", *_Affine.config_keys)

    def __init__(self, height_factor: Any, width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h_range = _factor_range(height_factor, "height_factor", "RandomZoom")
        self._w_range = (None if width_factor is None else
                         _factor_range(width_factor, "width_factor", "RandomZoom"))
        for lo in (self._h_range[0], (self._w_range or (0.0,))[0]):
            if lo < -1.0:
                raise ValueError(f"RandomZoom: factors must be >= -1. Received: "
                                 f"height_factor={height_factor}, width_factor={width_factor}")

    def _matrices(self, n: int, h: int, w: int) -> np.ndarray:
        rng = self._generator()
        zh = 1.0 + rng.uniform(*self._h_range, n)
        zw = zh if self._w_range is None else 1.0 + rng.uniform(*self._w_range, n)
        zero = np.zeros(n)
        lin = np.stack([np.stack([zh, zero], 1), np.stack([zero, zw], 1)], 1)
        return _about_centre(lin, h, w)


class RandomTranslation(_Affine):
    """Shift each image by random fractions of its height and width: ``height_factor`` f
    draws the vertical shift from [−f, f]·H (or a (lower, upper) range), ``width_factor``
    likewise.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.RandomTranslation(0.1, 0.1)(cr.ones(2, 8, 8, 3), training=True).shape
        chainrule.Size([2, 8, 8, 3])
    """

    config_keys = ("height_factor", "width_factor", *_Affine.config_keys)

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h_range = _factor_range(height_factor, "height_factor", "RandomTranslation")
        self._w_range = _factor_range(width_factor, "width_factor", "RandomTranslation")

    def _matrices(self, n: int, h: int, w: int) -> np.ndarray:
        rng = self._generator()
        dy, dx = rng.uniform(*self._h_range, n) * h, rng.uniform(*self._w_range, n) * w
        eye = np.broadcast_to(np.eye(2), (n, 2, 2))
        return np.concatenate([eye, np.stack([-dy, -dx], 1)[..., None]], axis=2)


__all__ = ["RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom"]
