"""PyTorch's ``torch.utils`` path: ``chainrule.utils.data`` is ``chainrule.data``;
``chainrule.utils.checkpoint`` recomputes activations."""

from chainrule.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
