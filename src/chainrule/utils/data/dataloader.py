"""PyTorch's ``torch.utils.data.dataloader`` path: the objects of ``chainrule.data.dataloader``
(and ``get_worker_info``, which PyTorch's module also holds)."""

from chainrule.data.dataloader import DataLoader, default_collate
from chainrule.data.worker import get_worker_info

__all__ = ["DataLoader", "default_collate", "get_worker_info"]
