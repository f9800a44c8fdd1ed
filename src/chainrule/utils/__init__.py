"""PyTorch's ``torch.utils`` path: ``chainrule.utils.data`` is ``chainrule.data``;
``chainrule.utils.checkpoint`` recomputes activations; ``chainrule.utils.benchmark`` times
statements."""

from chainrule.utils import benchmark, checkpoint, data

__all__ = ["benchmark", "checkpoint", "data"]
