"""Instance normalisation: ``InstanceNorm1d``/``2d``/``3d``, each sample and channel over its own
spatial statistics."""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.modules.batchnorm import _BatchNorm
from chainrule.tensor import Tensor


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
