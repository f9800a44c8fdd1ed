"""PyTorch's ``torch.nn.modules.padding`` path: re-exports from ``chainrule.nn.padding``."""

from chainrule.nn.padding import ConstantPad1d, ConstantPad2d, ZeroPad1d, ZeroPad2d

__all__ = ["ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d"]
