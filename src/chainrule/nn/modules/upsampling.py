"""PyTorch's ``torch.nn.modules.upsampling`` path: re-exports from ``chainrule.nn.upsampling``."""

from chainrule.nn.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]
