"""Datasets as NumPy arrays: MNIST / Fashion-MNIST (IDX files, download + checksum + cache), small
2-D toy sets and TensorFlow Playground's six 2-D sets (``playground``)."""

from chainrule.datasets import playground
from chainrule.datasets.mnist import (
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    load_mnist_or_subset,
    load_subset,
)
from chainrule.datasets.playground import make_playground
from chainrule.datasets.toy import make_blobs, make_circles, make_moons, make_spiral, make_xor

__all__ = ["DatasetNotFoundError", "load_fashion_mnist", "load_mnist", "load_mnist_or_subset",
           "load_subset", "make_blobs", "make_circles", "make_moons", "make_playground",
           "make_spiral", "make_xor", "playground"]
