"""Batch normalisation: ``BatchNorm1d``/``2d``/``3d`` over a batch's statistics, with running
estimates for evaluation."""

from __future__ import annotations

from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import float_or_default, xp
from chainrule.device import check as check_device
from chainrule.nn import functional as F
from chainrule.nn import init
from chainrule.nn.modules.module import Module, Parameter
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
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

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
                momentum = 1.0 / float(self.num_batches_tracked.array)
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
