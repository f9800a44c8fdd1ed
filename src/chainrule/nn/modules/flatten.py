"""PyTorch's ``torch.nn.modules.flatten`` path: re-exports from ``chainrule.nn.flatten``."""

from chainrule.nn.flatten import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
