"""Keras metrics as NumPy functions ``metric(y_true, y_pred) -> float`` (batch mean).

``'accuracy'`` / ``'acc'`` resolves like Keras: binary, categorical or sparse-categorical
accuracy depending on the loss and the output shape (:func:`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.argmax(y_true, -1) == np.argmax(y_pred, -1)))


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true.reshape(-1) == np.argmax(y_pred, -1).reshape(-1)))


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5) -> float:
    return float(np.mean((y_pred > threshold) == (y_true > 0.5)))


def top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray, k: int = 5) -> float:
    top = np.argsort(-y_pred, -1)[..., :k]
    return float(np.mean((top == np.argmax(y_true, -1)[..., None]).any(-1)))


def sparse_top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray,
                                      k: int = 5) -> float:
    top = np.argsort(-y_pred, -1)[..., :k]
    return float(np.mean((top == y_true.reshape(-1, 1)).any(-1)))


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((y_pred - y_true) ** 2))


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_pred - y_true)))


METRICS: dict[str, Metric] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
}


def resolve(identifier: str | Metric, loss_name: str,
            output_shape: tuple[Any, ...] | None) -> tuple[str, Metric]:
    """(log name, function) for a metric identifier, picking the accuracy flavour like Keras."""
    if callable(identifier):
        return getattr(identifier, "__name__", "metric"), identifier
    if identifier in ("accuracy", "acc"):
        if loss_name == "binary_crossentropy" or (output_shape is not None and
                                                  output_shape[-1] == 1):
            fn = binary_accuracy
        elif loss_name == "sparse_categorical_crossentropy":
            fn = sparse_categorical_accuracy
        else:
            fn = categorical_accuracy
        return identifier, fn
    if identifier in METRICS:
        return identifier, METRICS[identifier]
    raise ValueError(f"Unknown metric {identifier!r}; expected 'accuracy' or one of "
                     f"{sorted(METRICS)} or a callable metric(y_true, y_pred)")
