"""Image grids and PNG files: ``make_grid`` and ``save_image``, as ``torchvision.utils``."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, BinaryIO

import numpy as np

from chainrule.tensor import Tensor
from chainrule.vision._pil import pil_image


def make_grid(tensor: Tensor | Sequence[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images into one image, ``nrow`` images per row.

    Args:
        tensor: (B, C, H, W) or a list of (C, H, W) images; a (C, H, W) or (H, W) image is a
            batch of one. One-channel images are repeated into three channels.
        nrow: images per row.
        padding: pixels between images and around the border.
        normalize: shift and scale each value into [0, 1] using ``value_range`` (default: the
            batch's min and max), clamping values outside it.
        value_range: the (low, high) mapped to 0 and 1 when normalizing.
        scale_each: normalize every image by its own min and max.
        pad_value: the value of the padding pixels.

    Returns:
        A (C, ⌈B/nrow⌉·(H + padding) + padding, min(nrow, B)·(W + padding) + padding) tensor,
        or the image itself (3, H, W) when the batch holds one image.
    """
    if isinstance(tensor, list | tuple):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"make_grid: tensor or list of tensors expected, got "
                            f"{[type(t).__name__ for t in tensor]}")
        arr = np.stack([t.detach().numpy() for t in tensor])
    elif isinstance(tensor, Tensor):
        arr = tensor.detach().numpy()
    else:
        raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor)}")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W) images, got shape {arr.shape}")
    if arr.shape[1] == 1:
        arr = np.concatenate([arr] * 3, axis=1)
    if normalize:
        arr = arr.copy()
        for img in arr if scale_each else [arr]:
            low, high = value_range if value_range is not None else (img.min(), img.max())
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)
    if arr.shape[0] == 1:
        return Tensor._wrap(arr[0].copy())
    n, c, h, w = arr.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    hp, wp = h + padding, w + padding
    grid = np.full((c, rows * hp + padding, cols * wp + padding), pad_value, dtype=arr.dtype)
    for k in range(n):
        y, x = divmod(k, cols)
        grid[:, y * hp + padding:(y + 1) * hp, x * wp + padding:(x + 1) * wp] = arr[k]
    return Tensor._wrap(grid)


def save_image(tensor: Tensor | Sequence[Tensor], fp: str | os.PathLike[str] | BinaryIO,
               format: str | None = None, **kwargs: Any) -> None:
    """Write images (values in [0, 1]) as one image file, a grid of them if there are several.

    ``kwargs`` go to :func:`make_grid`; values are scaled by 255, rounded and clamped to
    uint8. The format follows the file name's extension (``.png``), or ``format``. Needs
    Pillow.
    """
    grid = make_grid(tensor, **kwargs).numpy()
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    pil_image().fromarray(np.ascontiguousarray(pixels)).save(fp, format=format)
