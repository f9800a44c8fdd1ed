"""PyTorch's ``torch.nn.modules.normalization`` path: re-exports from
``chainrule.nn.normalization``."""

from chainrule.nn.normalization import GroupNorm, LayerNorm, RMSNorm

__all__ = ["GroupNorm", "LayerNorm", "RMSNorm"]
