"""Vision datasets with torchvision's signatures and on-disk layout."""

from chainrule.vision.datasets.cifar import CIFAR10
from chainrule.vision.datasets.mnist import MNIST, FashionMNIST
from chainrule.vision.datasets.vision import VisionDataset

__all__ = ["CIFAR10", "MNIST", "FashionMNIST", "VisionDataset"]
