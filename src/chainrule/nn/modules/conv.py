"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` (NCHW, PyTorch semantics)."""

from __future__ import annotations

import math
from typing import Any

from chainrule import random as _random
from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn.modules.module import Module, Parameter
from chainrule.ops import conv as C
from chainrule.ops import conv_transpose as CT
from chainrule.ops import movement as F
from chainrule.tensor import Tensor


def _ntuple(v: Any, n: int) -> tuple[int, ...]:
    return (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)


def _uniform(shape: tuple[int, ...], bound: float, dtype: Any) -> Any:
    return _random.numpy_generator().uniform(-bound, bound, shape).astype(dtype)


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared construction, init and repr of the convolution layers."""

    _dims: int = 2
    _transposed: bool = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding: Any = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        n = self._dims
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if padding_mode != "zeros" and self._transposed:
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n)):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.groups = groups
        self.padding_mode = padding_mode
        dt = float_or_default(dtype)
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(xp.empty(shape, dt))
        if bias:
            self.bias = Parameter(xp.empty((out_channels,), dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight ~ kaiming_uniform_(a=√5) = U(±1/√fan_in), bias ~ U(±1/√fan_in), where fan_in =
        weight.shape[1]·∏kernel (as PyTorch computes it, also for the transposed layer)."""
        w = self.weight
        fan_in = w.shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        # kaiming_uniform_(a=√5): gain √(2/(1+5)), bound = gain·√(3/fan_in) = 1/√fan_in
        w.array[...] = _uniform(w.shape, bound, w.dtype)
        w._version += 1
        if self.bias is not None:
            self.bias.array[...] = _uniform(self.bias.shape, bound, self.bias.dtype)
            self.bias._version += 1

    def _padded(self, input: Tensor) -> tuple[Tensor, Any]:
        """The input and the padding to convolve it with: with a ``padding_mode`` other than
        'zeros' the input is padded here (``F.pad`` in that mode) and the convolution adds none,
        as in PyTorch."""
        if self.padding_mode == "zeros":
            return input, self.padding
        pad: list[int] = []
        for i in reversed(range(self._dims)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                pad += [total // 2, total - total // 2]
            elif self.padding == "valid":
                pad += [0, 0]
            else:
                pad += [self.padding[i], self.padding[i]]
        return F.pad(input, pad, mode=self.padding_mode), 0

    def forward(self, input: Tensor) -> Tensor:
        x, padding = self._padded(input)
        return self._conv(x, self.weight, self.bias, self.stride, padding, self.dilation,
                          self.groups)

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) → (N, C_out, L_out).

    Args mirror ``torch.nn.Conv1d``: ``in_channels, out_channels, kernel_size, stride=1,
    padding=0 (int or 'same'/'valid'), dilation=1, groups=1, bias=True,
    padding_mode='zeros'`` ('reflect', 'replicate', 'circular' pad with ``F.pad``).

    Attributes:
        weight: (C_out, C_in / groups, k), U(±1/√(C_in/groups·k)).
        bias: (C_out,), same bound.

    Example:
        >>> import chainrule as cr
        >>> conv = cr.nn.Conv1d(4, 8, kernel_size=3, padding=1)
        >>> conv(cr.ones(2, 4, 10)).shape, conv.weight.shape
        (chainrule.Size([2, 8, 10]), chainrule.Size([8, 4, 3]))
    """

    _dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    _conv = staticmethod(C.conv1d)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over (N, C_in, H, W) → (N, C_out, H_out, W_out),
    H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1.

    Args mirror ``torch.nn.Conv2d``: ``in_channels, out_channels, kernel_size, stride=1,
    padding=0 (int, tuple, 'same' or 'valid'), dilation=1, groups=1, bias=True,
    padding_mode='zeros'`` ('reflect', 'replicate', 'circular' pad with ``F.pad``).

    Attributes:
        weight: (C_out, C_in / groups, kH, kW), kaiming_uniform_(a=√5) = U(±1/√fan_in),
            fan_in = C_in / groups · kH · kW.
        bias: (C_out,), U(±1/√fan_in).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.nn.modules.conv import Conv2d
        >>> Conv2d(1, 16, 3)
        Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))
        >>> Conv2d(1, 16, 3, padding="same")(cr.ones(2, 1, 28, 28)).shape
        chainrule.Size([2, 16, 28, 28])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    _conv = staticmethod(C.conv2d)


class _ConvTransposeNd(_ConvNd):
    """Shared construction and ``output_size`` handling of the transposed convolutions."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros", device: Any = None,
                 dtype: Any = None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device=device, dtype=dtype)

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple[int, ...]:
        """``output_padding``, or the one that makes the output ``output_size`` long."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        want = tuple(output_size)[-n:]
        return tuple(w - ((m - 1) * s - 2 * p + d * (k - 1) + 1) for w, m, s, p, d, k in
                     zip(want, input.shape[-n:], self.stride, self.padding, self.dilation,
                         self.kernel_size))


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of Conv1d in its input), (N, C_in, L) →
    (N, C_out, L_out), L_out = (L − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Attributes:
        weight: (C_in, C_out / groups, k), U(±1/√(C_out/groups·k)) (PyTorch's fan_in of this
            shape).
        bias: (C_out,), the same bound.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ConvTranspose1d(2, 3, 3, stride=2)(cr.ones(1, 2, 5)).shape
        chainrule.Size([1, 3, 11])
    """

    _dims = 1

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return CT.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution (the gradient of Conv2d in its input), (N, C_in, H, W) →
    (N, C_out, H_out, W_out), H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Attributes:
        weight: (C_in, C_out / groups, kH, kW), U(±1/√(C_out/groups·kH·kW)) (PyTorch's fan_in
            of this shape).
        bias: (C_out,), the same bound.

    Example:
        >>> import chainrule as cr
        >>> up = cr.nn.ConvTranspose2d(8, 4, kernel_size=2, stride=2)
        >>> up(cr.ones(1, 8, 5, 5)).shape
        chainrule.Size([1, 4, 10, 10])
    """

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return CT.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class Conv3d(_ConvNd):
    """3-D convolution (cross-correlation) over (N, C_in, D, H, W) → (N, C_out, D_out, H_out,
    W_out), each size ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1.

    Attributes:
        weight: (C_out, C_in / groups, kD, kH, kW), kaiming_uniform_(a=√5) = U(±1/√fan_in),
            fan_in = C_in / groups · kD · kH · kW.
        bias: (C_out,), U(±1/√fan_in).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Conv3d(2, 4, 3, padding=1)(cr.ones(1, 2, 5, 6, 7)).shape
        chainrule.Size([1, 4, 5, 6, 7])
    """

    _dims = 3

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)

    _conv = staticmethod(C.conv3d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution (the gradient of Conv3d in its input), (N, C_in, D, H, W) →
    (N, C_out, D_out, H_out, W_out), n_out = (n − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Attributes:
        weight: (C_in, C_out / groups, kD, kH, kW), U(±1/√(C_out/groups·kD·kH·kW)).
        bias: (C_out,), the same bound.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ConvTranspose3d(2, 1, kernel_size=2, stride=2)(cr.ones(1, 2, 3, 3, 3)).shape
        chainrule.Size([1, 1, 6, 6, 6])
    """

    _dims = 3

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return CT.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
