"""MNIST with Keras's ``load_data`` signature and return shapes/dtypes."""

from __future__ import annotations

from typing import Any

from chainrule.datasets import mnist as _m


def load_data(path: Any = None) -> _m.Arrays:
    """``(x_train, y_train), (x_test, y_test)``: uint8 (60000, 28, 28), (60000,),
    (10000, 28, 28), (10000,).

    ``path`` is a data directory (see ``chainrule.datasets.load_mnist``); by default
    ``$CHAINRULE_DATA`` then ``~/.cache/chainrule``, downloading when missing.
    """
    return _m.load_mnist(path)
