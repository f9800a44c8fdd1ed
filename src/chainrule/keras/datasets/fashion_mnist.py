"""Fashion-MNIST with Keras's ``load_data`` signature and return shapes/dtypes."""

from __future__ import annotations

from typing import Any

from chainrule.datasets import mnist as _m


def load_data(path: Any = None) -> _m.Arrays:
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, like ``mnist.load_data``."""
    return _m.load_mnist(path, fashion=True)
