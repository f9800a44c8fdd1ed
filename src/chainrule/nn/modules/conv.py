"""PyTorch's ``torch.nn.modules.conv`` path: re-exports from ``chainrule.nn.conv``."""

from chainrule.nn.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]
