"""Pooling layers: ``MaxPool1d/2d/3d``, ``AvgPool1d/2d/3d``, ``AdaptiveAvgPool1d/2d``,
``AdaptiveMaxPool1d/2d`` (PyTorch signatures; no parameters)."""

from __future__ import annotations

from typing import Any

from chainrule.nn.modules.module import Module
from chainrule.ops import adaptive_pool as AP
from chainrule.ops import pool as P
from chainrule.tensor import Tensor


class _MaxPoolNd(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """Max over kH×kW windows of (N, C, H, W); ``stride`` defaults to ``kernel_size``. The
    gradient flows only to each window's maximum.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.modules.pooling import MaxPool2d
        >>> MaxPool2d(2)
        MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
        >>> MaxPool2d(2)(cr.ones(1, 3, 24, 24)).shape
        chainrule.Size([1, 3, 12, 12])
    """

    def forward(self, input: Tensor) -> Any:
        return P.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Max over windows of length k of (N, C, L).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MaxPool1d(2)(cr.tensor([[[1.0, 5.0, 2.0, 3.0]]]))
        tensor([[[5., 3.]]])
    """

    def forward(self, input: Tensor) -> Any:
        return P.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """Mean over kH×kW windows of (N, C, H, W); zero padding counts in the divisor unless
    ``count_include_pad=False``; ``divisor_override`` replaces the divisor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool2d(2)(cr.ones(1, 1, 4, 4)).shape
        chainrule.Size([1, 1, 2, 2])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """Mean over windows of length k of (N, C, L).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool1d(2)(cr.tensor([[[1.0, 3.0, 5.0, 7.0]]]))
        tensor([[[2., 6.]]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _one(kernel_size)
        self.stride = _one(stride if stride is not None else kernel_size)
        self.padding = _one(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _one(v: Any) -> tuple[int]:
    return (int(v),) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class AdaptiveAvgPool2d(Module):
    """Mean pooling of (N, C, H, W) to a fixed ``output_size`` (int, or (h, w) with ``None``
    keeping that input size), whatever the input size.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveAvgPool2d((1, 1))(cr.ones(2, 3, 7, 5)).shape
        chainrule.Size([2, 3, 1, 1])
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return AP.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(Module):
    """Mean pooling of (N, C, L) to ``output_size`` cells.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveAvgPool1d(2)(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]))
        tensor([[[1.5000, 3.5000]]])
    """

    def __init__(self, output_size: int) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return AP.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool3d(_MaxPoolNd):
    """Max over kD×kH×kW windows of (N, C, D, H, W); ``stride`` defaults to ``kernel_size``.
    The gradient flows only to each window's maximum.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MaxPool3d(2)(cr.ones(1, 3, 4, 6, 8)).shape
        chainrule.Size([1, 3, 2, 3, 4])
    """

    def forward(self, input: Tensor) -> Any:
        return P.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool3d(AvgPool2d):
    """Mean over kD×kH×kW windows of (N, C, D, H, W); zero padding counts in the divisor
    unless ``count_include_pad=False``; ``divisor_override`` replaces the divisor.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AvgPool3d(2)(cr.ones(1, 1, 4, 4, 4)).shape
        chainrule.Size([1, 1, 2, 2, 2])
    """

    def forward(self, input: Tensor) -> Tensor:
        return P.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Mean pooling of (N, C, D, H, W) to a fixed ``output_size`` (int, or (d, h, w) with
    ``None`` keeping that input size), whatever the input size.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveAvgPool3d(1)(cr.ones(1, 2, 4, 4, 4)).shape
        chainrule.Size([1, 2, 1, 1, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        return AP.adaptive_avg_pool3d(input, self.output_size)


class _AdaptiveMaxPoolNd(Module):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) to ``output_size`` cells, whatever L; with
    ``return_indices`` also each maximum's position.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveMaxPool1d(2)(cr.tensor([[[1.0, 5.0, 2.0, 3.0]]]))
        tensor([[[5., 3.]]])
    """

    def forward(self, input: Tensor) -> Any:
        return AP.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, H, W) to a fixed ``output_size`` (int, or (h, w) with ``None``
    keeping that input size); with ``return_indices`` also each maximum's flat h·W + w
    position.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.AdaptiveMaxPool2d((2, None))(cr.ones(1, 3, 7, 5)).shape
        chainrule.Size([1, 3, 2, 5])
    """

    def forward(self, input: Tensor) -> Any:
        return AP.adaptive_max_pool2d(input, self.output_size, self.return_indices)
