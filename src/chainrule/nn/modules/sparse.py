"""PyTorch's ``torch.nn.modules.sparse`` path: re-exports from ``chainrule.nn.sparse``."""

from chainrule.nn.sparse import Embedding

__all__ = ["Embedding"]
