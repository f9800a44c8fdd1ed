"""PyTorch's ``torch.nn.modules.dropout`` path: re-exports from ``chainrule.nn.dropout`` and
``chainrule.nn.dropout2d``."""

from chainrule.nn.dropout import Dropout
from chainrule.nn.dropout2d import Dropout2d

__all__ = ["Dropout", "Dropout2d"]
