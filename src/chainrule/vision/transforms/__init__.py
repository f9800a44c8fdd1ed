"""Image transforms with torchvision's names, on PIL images and tensor images."""

from chainrule.vision.transforms import functional
from chainrule.vision.transforms.functional import InterpolationMode
from chainrule.vision.transforms.transforms import (
    CenterCrop,
    Compose,
    Lambda,
    Normalize,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
    ToTensor,
)

__all__ = ["CenterCrop", "Compose", "InterpolationMode", "Lambda", "Normalize", "PILToTensor",
           "RandomCrop", "RandomHorizontalFlip", "Resize", "ToTensor", "functional"]
