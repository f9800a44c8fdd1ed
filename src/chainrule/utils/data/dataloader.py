"""PyTorch's ``torch.utils.data.dataloader`` path: the objects of ``chainrule.data.dataloader``."""

from chainrule.data.dataloader import DataLoader, default_collate

__all__ = ["DataLoader", "default_collate"]
