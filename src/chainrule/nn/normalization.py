"""Normalisation layers: ``BatchNorm1d`` (and ``BatchNorm2d``), ``InstanceNorm1d`` (and
``InstanceNorm2d``), ``GroupNorm``, ``LayerNorm``, ``RMSNorm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


def _dt(dtype: Any) -> Any:
    return float_or_default(dtype)


def _affine_parameters(m: Module, affine: bool, bias: bool, shape: tuple[int, ...],
                       dt: Any) -> None:
    """Give ``m`` a ``weight`` of ones and a ``bias`` of zeros of ``shape`` (``None`` where
    ``affine`` or ``bias`` is off)."""
    m.register_parameter("weight", Parameter(xp.ones(shape, dt)) if affine else None)
    m.register_parameter("bias", Parameter(xp.zeros(shape, dt)) if affine and bias else None)


def _reset_affine(m: Module) -> None:
    if m.weight is not None:
        init.ones_(m.weight)
    if m.bias is not None:
        init.zeros_(m.bias)


class _BatchNorm(Module):
    _ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        check_device(device, type(self).__name__)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = _dt(dtype)
        _affine_parameters(self, affine, bias, (num_features,), dt)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dt)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dt)))
            self.register_buffer("num_batches_tracked", Tensor(xp.array(0, xp.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self._ndims:
            dims = " or ".join(f"{n}D" for n in self._ndims)
            raise ValueError(f"{type(self).__name__}: expected {dims} input, got shape "
                             f"{tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels "
                             f"(dim 1), got input of shape {tuple(input.shape)}")
        momentum = self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, 0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over a batch of vectors or sequences (Ioffe & Szegedy, 2015).

    y = (x − E[x]) / √(Var[x] + eps) · γ + β per channel, with batch statistics in training
    (biased variance) and running statistics after ``eval()``. Each training step updates
    running ← (1 − momentum)·running + momentum·batch (unbiased variance); ``momentum=None``
    gives a cumulative average.

    Shape:
        (N, C) or (N, C, L) → same shape.

    Attributes:
        weight γ: (C,), ones; bias β: (C,), zeros (if ``affine``; no β if ``bias=False``).
        running_mean (C,) zeros, running_var (C,) ones, num_batches_tracked () int64
        (buffers, if ``track_running_stats``).

    Example:
        >>> import chainrule as cr
        >>> bn = cr.nn.BatchNorm1d(2)
        >>> y = bn(cr.tensor([[1.0, 10.0], [3.0, 30.0]]))
        >>> y
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]], grad_fn=<AddBackward>)
        >>> bn.running_mean
        tensor([0.2000, 2.0000])
    """

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``BatchNorm1d`` for images: statistics per channel over (N, H, W).

    Shape:
        (N, C, H, W) → same shape.

    Example:
        >>> import chainrule as cr
        >>> bn = cr.nn.BatchNorm2d(3)
        >>> y = bn(cr.randn(4, 3, 5, 5) * 10 + 2)
        >>> y.shape, abs(round(y.mean().item(), 3))
        (chainrule.Size([4, 3, 5, 5]), 0.0)
        >>> bn.num_batches_tracked
        tensor(1)
    """

    _ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """``BatchNorm1d`` for volumes: statistics per channel over (N, D, H, W).

    Shape:
        (N, C, D, H, W) → same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.BatchNorm3d(2)(cr.randn(2, 2, 3, 3, 3)).shape
        chainrule.Size([2, 2, 3, 3, 3])
    """

    _ndims = (5,)


class _InstanceNorm(_BatchNorm):
    # The parameters, buffers and repr of _BatchNorm (PyTorch's _NormBase); other defaults and
    # per-sample statistics. The running statistics are updated but num_batches_tracked is not,
    # and momentum=None freezes them, as in PyTorch.
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        unbatched = self._ndims[0]
        if input.ndim not in self._ndims:
            raise ValueError(f"{type(self).__name__}: expected {unbatched}D or {unbatched + 1}D "
                             f"input, got shape {tuple(input.shape)}")
        channel_dim = input.ndim - unbatched
        if self.affine and input.shape[channel_dim] != self.num_features:
            raise ValueError(f"{type(self).__name__}: expected {self.num_features} channels "
                             f"(dim {channel_dim}), got input of shape {tuple(input.shape)}")
        x = input.unsqueeze(0) if input.ndim == unbatched else input
        out = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              0.0 if self.momentum is None else self.momentum, self.eps)
        return out.squeeze(0) if input.ndim == unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation (Ulyanov et al., 2016): each channel of each sample normalised
    over its length, y = (x − E[x]) / √(Var[x] + eps) · γ + β (biased variance).

    With ``track_running_stats`` each training step updates running ← (1 − momentum)·running
    + momentum·stat (the per-sample statistics averaged over the batch, unbiased variance), and
    ``eval()`` uses the running statistics; by default the input's statistics are always used.

    Shape:
        (N, C, L) or (C, L) → same shape.

    Attributes:
        weight γ: (C,), ones; bias β: (C,), zeros (if ``affine``, default False).
        running_mean (C,) zeros, running_var (C,) ones, num_batches_tracked () int64
        (buffers, if ``track_running_stats``, default False).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.InstanceNorm1d(2)(cr.arange(10.0).reshape(1, 2, 5))[0, 0]
        tensor([-1.4142, -0.7071,  0.0000,  0.7071,  1.4142])
    """

    _ndims = (2, 3)


class InstanceNorm3d(_InstanceNorm):
    """``InstanceNorm1d`` for volumes: statistics per sample and channel over (D, H, W).

    Shape:
        (N, C, D, H, W) or (C, D, H, W) → same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.InstanceNorm3d(3)(cr.randn(2, 3, 2, 2, 2)).shape
        chainrule.Size([2, 3, 2, 2, 2])
    """

    _ndims = (4, 5)


class InstanceNorm2d(_InstanceNorm):
    """``InstanceNorm1d`` for images: statistics per sample and channel over (H, W).

    Shape:
        (N, C, H, W) or (C, H, W) → same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.InstanceNorm2d(3, affine=True)(cr.ones(2, 3, 4, 4)).shape
        chainrule.Size([2, 3, 4, 4])
    """

    _ndims = (3, 4)


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
                [-1.0000,  1.0000]], grad_fn=<AddBackward>)
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
