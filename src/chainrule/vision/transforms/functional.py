"""The image operations behind the transforms, on PIL images and on tensors (..., C, H, W), as
``torchvision.transforms.functional``.

Tensor images keep their dtype; uint8 ones are rounded back to uint8 after resizing. Crops,
flips, constant padding and resizes are chainrule ops, so gradients flow through them;
'edge', 'reflect' and 'symmetric' padding of tensors is computed on the array (no gradient).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import numpy as np

from chainrule.backend import xp
from chainrule.creation import get_default_dtype
from chainrule.ops.movement import pad as _pad_constant
from chainrule.tensor import Tensor
from chainrule.vision._pil import is_pil_image, pil_image


class InterpolationMode(Enum):
    """How ``resize`` samples: ``NEAREST`` or ``BILINEAR`` (tensors and PIL), ``BICUBIC``,
    ``BOX``, ``HAMMING``, ``LANCZOS`` (PIL images only)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _check_image(img: Any, op: str) -> None:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise TypeError(f"{op}: a tensor image must have at least 2 dimensions, "
                            f"got shape {img.shape}")
    elif not is_pil_image(img):
        raise TypeError(f"{op}: img should be PIL Image or Tensor. Got {type(img)}")


def get_dimensions(img: Any) -> list[int]:
    """``[channels, height, width]`` of a PIL image or tensor image."""
    _check_image(img, "get_dimensions")
    if isinstance(img, Tensor):
        return [1 if img.ndim == 2 else img.shape[-3], *img.shape[-2:]]
    return [len(img.getbands()), img.height, img.width]


def to_tensor(pic: Any) -> Tensor:
    """A PIL image or (H, W[, C]) array as a (C, H, W) tensor; uint8 pixels are scaled to
    [0, 1] in the default float dtype, other dtypes kept as they are."""
    if is_pil_image(pic):
        arr = np.array(pic, copy=True)
        if pic.mode == "1":
            arr = 255 * arr.astype(np.uint8)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2 or 3 dimensional. Got {pic.ndim} "
                             f"dimensions.")
        arr = pic
    else:
        raise TypeError(f"to_tensor: pic should be PIL Image or ndarray. Got {type(pic)}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    chw = xp.ascontiguousarray(xp.asarray(arr).transpose(2, 0, 1))
    if chw.dtype == xp.uint8:
        dtype = get_default_dtype()
        chw = chw.astype(dtype) / xp.asarray(255, dtype=dtype)
    return Tensor._wrap(chw)


def pil_to_tensor(pic: Any) -> Tensor:
    """A PIL image as a (C, H, W) tensor of its own pixel type, unscaled."""
    if not is_pil_image(pic):
        raise TypeError(f"pil_to_tensor: pic should be PIL Image. Got {type(pic)}")
    arr = np.array(pic, copy=True)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return Tensor._wrap(xp.ascontiguousarray(xp.asarray(arr).transpose(2, 0, 1)))


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(tensor − mean) / std`` per channel of a float tensor image (..., C, H, W)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"normalize: img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.shape}")
    m = xp.asarray(mean, dtype=tensor.dtype)
    s = xp.asarray(std, dtype=tensor.dtype)
    if (s == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         f"to division by zero.")
    m = m.reshape(-1, 1, 1) if m.ndim == 1 else m
    s = s.reshape(-1, 1, 1) if s.ndim == 1 else s
    if inplace:
        return tensor.sub_(Tensor._wrap(m)).div_(Tensor._wrap(s))
    return (tensor - Tensor._wrap(m)) / Tensor._wrap(s)


def hflip(img: Any) -> Any:
    """The image mirrored left to right."""
    _check_image(img, "hflip")
    if isinstance(img, Tensor):
        return img.flip(-1)
    return img.transpose(pil_image().Transpose.FLIP_LEFT_RIGHT)


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """The ``height`` × ``width`` window at (``top``, ``left``); parts outside the image are 0."""
    _check_image(img, "crop")
    if not isinstance(img, Tensor):
        return img.crop((left, top, left + width, top + height))
    h, w = img.shape[-2:]
    bottom, right = top + height, left + width
    window = img[..., max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
    pads = [max(-left, 0), max(right - w, 0), max(-top, 0), max(bottom - h, 0)]
    return _pad_constant(window, pads) if any(pads) else window


def center_crop(img: Any, output_size: int | Sequence[int]) -> Any:
    """The central ``output_size`` window, zero-padded where the image is smaller."""
    th, tw = _pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def pad(img: Any, padding: int | Sequence[int], fill: float = 0,
        padding_mode: str = "constant") -> Any:
    """Pad the borders: ``padding`` is one int (all sides), (left/right, top/bottom) or
    (left, top, right, bottom); ``padding_mode`` is 'constant' (with ``fill``), 'edge',
    'reflect' or 'symmetric'."""
    _check_image(img, "pad")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"Padding mode should be either constant, edge, reflect or symmetric, "
                         f"got {padding_mode!r}")
    p = [padding] if isinstance(padding, int) else list(padding)
    if len(p) not in (1, 2, 4) or not all(isinstance(v, int) for v in p):
        raise ValueError(f"Padding must be an int or a 1, 2, or 4 element sequence of ints, "
                         f"got {padding}")
    if any(v < 0 for v in p):
        raise ValueError(f"pad: negative padding {padding} is not supported")
    left, top, right, bottom = p * 4 if len(p) == 1 else p * 2 if len(p) == 2 else p
    if isinstance(img, Tensor):
        if padding_mode == "constant":
            return _pad_constant(img, [left, right, top, bottom], value=fill)
        widths = [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)]
        return Tensor._wrap(xp.pad(img.array, widths, mode=padding_mode))
    if padding_mode == "constant":
        from PIL import ImageOps

        bands = len(img.getbands())
        fill_px = tuple([fill] * bands) if bands > 1 and isinstance(fill, int | float) else fill
        return ImageOps.expand(img, border=(left, top, right, bottom), fill=fill_px)
    arr = np.asarray(img)
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
    return pil_image().fromarray(np.pad(arr, widths, mode=padding_mode))


def _pair(size: int | Sequence[int], op: str) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, Sequence) and len(size) in (1, 2):
        return (int(size[0]), int(size[0])) if len(size) == 1 else (int(size[0]), int(size[1]))
    raise ValueError(f"{op}: please provide only two dimensions (h, w) for size, got {size}")


def resized_output_size(height: int, width: int, size: int | Sequence[int],
                        max_size: int | None = None) -> list[int]:
    """``[new_h, new_w]``: ``size`` itself for (h, w); for one int the smaller edge becomes
    ``size`` and the longer keeps the aspect ratio, capped at ``max_size``."""
    if not isinstance(size, int) and len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of "
                             "the smaller edge, i.e. size should be an int or a sequence of "
                             f"length 1 in torchscript mode, got size={size}")
        return [int(size[0]), int(size[1])]
    requested = size if isinstance(size, int) else int(size[0])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = requested, int(requested * long / short)
    if max_size is not None:
        if max_size <= requested:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_long, new_short] if width <= height else [new_short, new_long]


def resize(img: Any, size: int | Sequence[int],
           interpolation: InterpolationMode = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool = True) -> Any:
    """Resize to ``size`` (see :func:`resized_output_size`).

    Tensors: 'bilinear' samples at pixel centres (PyTorch's ``align_corners=False``); with
    ``antialias`` a downscale widens the triangle filter by the scale factor, so every input
    pixel contributes (PIL's and ``interpolate(..., antialias=True)``'s filter). 'nearest'
    takes ⌊i·in/out⌋. PIL images are resized by Pillow, which always antialiases.
    """
    _check_image(img, "resize")
    interpolation = InterpolationMode(interpolation)
    _, h, w = get_dimensions(img)
    oh, ow = resized_output_size(h, w, size, max_size)
    if (oh, ow) == (h, w):
        return img
    if not isinstance(img, Tensor):
        return img.resize((ow, oh), getattr(pil_image().Resampling, interpolation.name))
    if interpolation is InterpolationMode.NEAREST:
        return img[..., _nearest(h, oh), :][..., _nearest(w, ow)]
    if interpolation is not InterpolationMode.BILINEAR:
        raise ValueError(f"resize: interpolation {interpolation.value!r} is not supported for "
                         f"tensors; use 'nearest' or 'bilinear'")
    x = img if img.is_floating_point() else img.float()
    rows = Tensor._wrap(_triangle_weights(h, oh, antialias, x.dtype))
    cols = Tensor._wrap(_triangle_weights(w, ow, antialias, x.dtype).T.copy())
    out = rows @ x @ cols
    if img.dtype == xp.uint8:
        return Tensor._wrap(xp.clip(xp.round(out.array), 0, 255).astype(xp.uint8))
    return out if img.is_floating_point() else out.to(img.dtype)


def _nearest(n: int, m: int) -> Any:
    src = np.floor(np.arange(m, dtype=np.float32) * np.float32(n / m))
    return xp.asarray(np.minimum(src.astype(np.int64), n - 1))


def _triangle_weights(n: int, m: int, antialias: bool, dtype: Any) -> Any:
    """(m, n) matrix taking an axis of n samples to m: row i weighs input j by the triangle
    1 − |j + ½ − c|/s around the source centre c = (i + ½)·n/m, s = max(n/m, 1) when
    antialiasing else 1, rows normalised to sum 1."""
    scale = n / m
    support = max(scale, 1.0) if antialias else 1.0
    centre = (np.arange(m) + 0.5) * scale
    dist = np.abs(np.arange(n)[None, :] + 0.5 - centre[:, None]) / support
    wts = np.maximum(1.0 - dist, 0.0)
    return xp.asarray(wts / wts.sum(axis=1, keepdims=True), dtype=dtype)
