"""PyTorch's ``torch.nn.modules.linear`` path: re-exports from ``chainrule.nn.linear``."""

from chainrule.nn.linear import Bilinear, Identity, Linear

__all__ = ["Bilinear", "Identity", "Linear"]
