"""The resizing layers: ``Upsample`` and its fixed-mode twins, over ``F.interpolate``, and
``PixelShuffle``/``PixelUnshuffle``, which trade channels for resolution."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) inputs with ``F.interpolate`` (same arguments).

    Shape:
        (N, C, L) → (N, C, L_out) or (N, C, H, W) → (N, C, H_out, W_out), where each output
        size is ``size`` or ⌊input size · scale_factor⌋.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Upsample(scale_factor=2)(cr.ones(1, 1, 2, 3)).shape
        chainrule.Size([1, 1, 4, 6])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor: Any = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling: ``Upsample(size, scale_factor, mode='nearest')``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.UpsamplingNearest2d(scale_factor=2)(cr.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True`` (as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.UpsamplingBilinear2d(scale_factor=2)(cr.tensor([[[[0.0, 3.0]]]]))
        tensor([[[[0., 1., 2., 3.],
                  [0., 1., 2., 3.]]]])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r) (``F.pixel_shuffle``; sub-pixel upsampling).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PixelShuffle(2)(cr.ones(1, 8, 3, 3)).shape
        chainrule.Size([1, 2, 6, 6])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W) (``F.pixel_unshuffle``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PixelUnshuffle(2)(cr.ones(1, 2, 6, 6)).shape
        chainrule.Size([1, 8, 3, 3])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
