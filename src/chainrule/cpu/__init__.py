"""``chainrule.cpu``, as ``torch.cpu``: the CPU's own names (``cpu.amp.autocast``)."""

from chainrule.cpu import amp

__all__ = ["amp"]
