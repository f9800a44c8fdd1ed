"""PyTorch's ``torch.nn.modules.batchnorm`` path: re-exports from ``chainrule.nn.normalization``."""

from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d

__all__ = ["BatchNorm1d", "BatchNorm2d"]
