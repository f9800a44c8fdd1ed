"""Normalisation over feature dimensions: ``LayerNorm``, ``RMSNorm`` and ``GroupNorm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.batchnorm import _affine_parameters, _dt, _reset_affine
from chainrule.nn.modules.module import Module, Parameter
from chainrule.tensor import Tensor


class GroupNorm(Module):
    """Group normalisation (Wu & He, 2018): the C channels are split into ``num_groups`` groups
    and each sample's group is normalised over its channels and all other dims,
    y = (x − E[x]) / √(Var[x] + eps) · γ + β (biased variance; γ, β per channel).

    Shape:
        (N, C, *) → same shape.

    Attributes:
        weight γ: (C,), ones; bias β: (C,), zeros (if ``affine``; no β if ``bias=False``).

    Example:
        >>> import chainrule as cr
        >>> gn = cr.nn.GroupNorm(2, 4)
        >>> gn(cr.arange(24.0).reshape(2, 4, 3)).shape, gn.weight.shape
        (chainrule.Size([2, 4, 3]), chainrule.Size([4]))
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        if num_groups <= 0:
            raise ValueError(f"GroupNorm: num_groups must be positive, got {num_groups}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        _affine_parameters(self, affine, bias, (num_channels,), _dt(dtype))

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), "
                             f"got {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


def _shape(normalized_shape: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(int(s) for s in normalized_shape)


class LayerNorm(Module):
    """y = (x − E[x]) / √(Var[x] + eps) · γ + β over the trailing ``normalized_shape`` dims
    of each sample (biased variance; Ba et al., 2016).

    Shape:
        (*, *normalized_shape) → same shape.

    Attributes:
        weight γ: normalized_shape, ones; bias β: normalized_shape, zeros
        (if ``elementwise_affine``; no β if ``bias=False``).

    Example:
        >>> import chainrule as cr
        >>> ln = cr.nn.LayerNorm(2)
        >>> ln(cr.tensor([[1.0, 3.0], [0.0, 10.0]]))
        tensor([[-1.0000,  1.0000],
                [-1.0000,  1.0000]], grad_fn=<LayerNormBackward>)
    """

    def __init__(self, normalized_shape: Sequence[int] | int, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, _dt(dtype))

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / √(mean(x²) + eps) · γ over the trailing ``normalized_shape`` dims (Zhang &
    Sennrich, 2019); ``eps=None`` uses the dtype's machine epsilon.

    Shape:
        (*, *normalized_shape) → same shape.

    Attributes:
        weight γ: normalized_shape, ones (if ``elementwise_affine``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.RMSNorm(2)(cr.tensor([[3.0, 4.0]]))
        tensor([[0.8485, 1.1314]], grad_fn=<MulBackward>)
    """

    def __init__(self, normalized_shape: Sequence[int] | int, eps: float | None = None,
                 elementwise_affine: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.normalized_shape = _shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, _dt(dtype)))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
