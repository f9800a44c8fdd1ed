"""``to_categorical`` and friends."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32") -> np.ndarray:
    """One-hot encode integer class labels: shape (..., num_classes).

    Example:
        >>> to_categorical([0, 2], 3).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.all(y == np.round(y)):
            raise ValueError("to_categorical: labels must be integers")
        y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {int(y.min())}")
    n = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and y.max() >= n:
        raise ValueError(f"to_categorical: label {int(y.max())} is out of range for "
                         f"num_classes={n}")
    return np.eye(n, dtype=dtype)[y]


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / np.where(norm == 0, 1, norm)


from chainrule.keras.data_adapter import (  # noqa: E402
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from chainrule.keras.plot import model_to_dot, plot_model  # noqa: E402


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and chainrule's, as Keras does for
    its backends: weights, shuffling and dropout become reproducible."""
    import random

    import chainrule as cr
    random.seed(seed)
    np.random.seed(seed)
    cr.manual_seed(seed)


__all__ = ["model_to_dot", "normalize", "pack_x_y_sample_weight", "plot_model",
           "set_random_seed", "to_categorical", "unpack_x_y_sample_weight"]
