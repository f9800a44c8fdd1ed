"""PyTorch's ``torch.nn.modules.instancenorm`` path: re-exports from
``chainrule.nn.normalization``."""

from chainrule.nn.normalization import InstanceNorm1d, InstanceNorm2d

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]
