"""PyTorch's ``torch.nn.modules.module`` path: re-exports from ``chainrule.nn.module``."""

from chainrule.nn.module import Module, Parameter

__all__ = ["Module", "Parameter"]
