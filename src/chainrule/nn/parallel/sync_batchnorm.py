"""``SyncBatchNorm``: batch normalisation with statistics over the whole distributed batch."""

from __future__ import annotations

from typing import Any

from chainrule.autograd.custom import Function, FunctionCtx
from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.functional import _affine, _ema
from chainrule.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d, _BatchNorm
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class _AllReduceSum(Function):
    """y = Σ over ranks of x.  Every rank's loss depends on y, so ∂L/∂x = Σ over ranks of ∂L/∂y."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor) -> Tensor:
        from chainrule.distributed import all_reduce

        y = x.detach().clone()
        all_reduce(y)
        return y

    @staticmethod
    def backward(ctx: FunctionCtx, g: Tensor) -> Tensor:
        from chainrule.distributed import all_reduce

        total = g.detach().clone()
        all_reduce(total)
        return total


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose training statistics (mean, biased variance) are taken over the
    batches of all ranks together, so N ranks with batch b normalise exactly as one process
    with batch N·b; the gradient flows through those statistics to every rank. Outside
    training, or without an initialised process group of more than one rank, it is
    ``BatchNorm``.

    Args: as :class:`~chainrule.nn.BatchNorm2d` (``process_group``: only ``None``).

    Shape:
        input (N, C, ...) with at least 2 dimensions; output the same shape.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> net = nn.SyncBatchNorm.convert_sync_batchnorm(
        ...     nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)))
        >>> type(net[1]).__name__
        'SyncBatchNorm'
        >>> bn = nn.SyncBatchNorm(2)  # one process: the statistics of this batch alone
        >>> bn(cr.tensor([[1.0, 2.0], [3.0, 6.0]]))
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]], grad_fn=<AddBackward>)
        >>> bn.running_mean
        tensor([0.2000, 0.4000])
    """

    _ndims = tuple(range(2, 9))

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 process_group: Any = None, device: Any = None, dtype: Any = None) -> None:
        if process_group is not None:
            raise ValueError("SyncBatchNorm: only the default process group (None) is supported")
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        from chainrule.train.distributed import world

        if not self.training or world() is None:
            return super().forward(input)
        if input.shape[1] != self.num_features or input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected input (N, {self.num_features}, ...), got "
                             f"shape {tuple(input.shape)}")
        c, axes = input.shape[1], (0, *range(2, input.ndim))
        count = Tensor([float(input.numel() // c)], dtype=input.dtype)
        with no_grad():
            from chainrule.distributed import all_reduce

            all_reduce(count)
        n = float(count.item())
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got {int(n)} over all ranks")
        shape = (1, c) + (1,) * (input.ndim - 2)
        mean = _AllReduceSum.apply(input.sum(axes)) / n
        centered = input - mean.reshape(shape)
        var = _AllReduceSum.apply((centered * centered).sum(axes)) / n
        momentum = self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked.array)
            _ema(self.running_mean, mean.detach(), momentum)
            _ema(self.running_var, var.detach() * (n / (n - 1)), momentum)
        return _affine(centered * (var.reshape(shape) + self.eps).rsqrt(), self.weight, self.bias)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every ``BatchNorm1d/2d`` replaced by a ``SyncBatchNorm`` with the same
        parameter and buffer values (convert before making the optimizer)."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats, process_group)
            sync.load_state_dict(module.state_dict())
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            if child is not None:
                setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
