"""The transform classes of ``torchvision.transforms``, on PIL images and tensor images.

Random transforms draw from chainrule's global generator, so ``cr.manual_seed`` makes a
pipeline reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chainrule.data.transforms import Compose as _Compose
from chainrule.nn.modules.module import Module
from chainrule.random import numpy_generator
from chainrule.vision.transforms import functional as F
from chainrule.vision.transforms.functional import InterpolationMode


class Compose(_Compose):
    """Apply transforms in order: ``Compose([f, g])(img) == g(f(img))``.

    Example:
        >>> from chainrule.vision import transforms
        >>> transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
        Compose(
            ToTensor()
            Normalize(mean=(0.5,), std=(0.5,), inplace=False)
        )
    """

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """A PIL image or (H, W, C) uint8 array → a float (C, H, W) tensor in [0, 1]
    (other array dtypes keep their values)."""

    def __call__(self, pic: Any) -> Any:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PILToTensor:
    """A PIL image → a (C, H, W) tensor of its own pixel type, unscaled."""

    def __call__(self, pic: Any) -> Any:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Lambda:
    """Apply a user function, e.g. ``Lambda(lambda x: x.repeat(3, 1, 1))``."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize(Module):
    """``(img − mean[c]) / std[c]`` for each channel c of a float tensor image (..., C, H, W).

    Args:
        mean: per-channel means.
        std: per-channel standard deviations (none may be 0).
        inplace: overwrite the input tensor.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float],
                 inplace: bool = False) -> None:
        super().__init__()
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def forward(self, tensor: Any) -> Any:
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def extra_repr(self) -> str:
        return f"mean={self.mean}, std={self.std}, inplace={self.inplace}"


def _size_pair(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if isinstance(size, Sequence) and len(size) == 2:
        return size[0], size[1]
    raise ValueError(f"Please provide only two dimensions (h, w) for size, got {size}")


class Resize(Module):
    """Resize to ``size``: (h, w), or one int the smaller edge is scaled to (aspect kept,
    the longer edge capped at ``max_size``). See ``functional.resize``.

    Args:
        size: (h, w) or the smaller edge's new length.
        interpolation: an ``InterpolationMode`` (default bilinear).
        max_size: the longest the longer edge may get when ``size`` is one int.
        antialias: widen the filter when downscaling tensors (PIL always does).
    """

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool = True) -> None:
        super().__init__()
        if not isinstance(size, int | Sequence):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.interpolation = InterpolationMode(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def forward(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def extra_repr(self) -> str:
        return (f"size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias}")


class CenterCrop(Module):
    """The central ``size`` window (h, w), or ``size`` × ``size`` for an int; an image smaller
    than the window is zero-padded first."""

    def __init__(self, size: int | Sequence[int]) -> None:
        super().__init__()
        self.size = _size_pair(size)

    def forward(self, img: Any) -> Any:
        return F.center_crop(img, self.size)

    def extra_repr(self) -> str:
        return f"size={self.size}"


class RandomCrop(Module):
    """A ``size`` window at a uniformly random position, after optional padding.

    Args:
        size: (h, w) of the window, or one int for a square.
        padding: added to the borders first: one int, (left/right, top/bottom) or
            (left, top, right, bottom); e.g. ``RandomCrop(32, padding=4)`` for CIFAR.
        pad_if_needed: pad an image smaller than the window up to its size.
        fill: the value of constant padding.
        padding_mode: 'constant', 'edge', 'reflect' or 'symmetric'.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        super().__init__()
        self.size = _size_pair(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a random ``output_size`` window inside ``img``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        rng = numpy_generator()
        return int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1)), th, tw

    def forward(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def extra_repr(self) -> str:
        return f"size={self.size}, padding={self.padding}"


class RandomHorizontalFlip(Module):
    """Mirror the image left to right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, img: Any) -> Any:
        return F.hflip(img) if numpy_generator().random() < self.p else img

    def extra_repr(self) -> str:
        return f"p={self.p}"
