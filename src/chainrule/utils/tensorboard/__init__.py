"""``chainrule.utils.tensorboard``, as ``torch.utils.tensorboard``: ``SummaryWriter``."""

from chainrule.utils.tensorboard.writer import SummaryWriter

__all__ = ["SummaryWriter"]
