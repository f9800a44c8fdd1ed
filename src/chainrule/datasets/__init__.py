"""Datasets as NumPy arrays: MNIST / Fashion-MNIST (IDX files, download + checksum + cache) and
small 2-D toy sets."""

from chainrule.datasets.mnist import (
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    load_mnist_or_subset,
    load_subset,
)
from chainrule.datasets.toy import make_blobs, make_circles, make_moons, make_spiral, make_xor

__all__ = ["DatasetNotFoundError", "load_fashion_mnist", "load_mnist", "load_mnist_or_subset",
           "load_subset", "make_blobs", "make_circles", "make_moons", "make_spiral", "make_xor"]
