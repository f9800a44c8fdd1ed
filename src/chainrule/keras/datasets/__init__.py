"""``keras.datasets.mnist.load_data()`` and ``fashion_mnist.load_data()``, backed by
``chainrule.datasets``."""

from chainrule.keras.datasets import fashion_mnist, mnist

__all__ = ["fashion_mnist", "mnist"]
