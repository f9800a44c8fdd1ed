"""PyTorch's ``torch.nn.modules.dropout`` path: re-exports from ``chainrule.nn.dropout``."""

from chainrule.nn.dropout import Dropout

__all__ = ["Dropout"]
