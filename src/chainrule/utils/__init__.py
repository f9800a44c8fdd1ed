"""PyTorch's ``torch.utils`` path: ``chainrule.utils.data`` is ``chainrule.data``."""

from chainrule.utils import data

__all__ = ["data"]
