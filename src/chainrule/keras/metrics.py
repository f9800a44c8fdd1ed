"""Keras metrics as NumPy functions ``metric(y_true, y_pred) -> float`` (batch mean).

``'accuracy'`` / ``'acc'`` resolves like Keras: binary, categorical or sparse-categorical
accuracy depending on the loss and the output shape (:func:`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

MetricFn = Callable[[np.ndarray, np.ndarray], float]


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


METRICS: dict[str, MetricFn] = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
}


def resolve(identifier: str | MetricFn, loss_name: str,
            output_shape: tuple[Any, ...] | None) -> tuple[str, MetricFn]:
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


# ---- stateful metrics: Keras's update_state / result / reset_state objects ----

def _numpy(v: Any) -> np.ndarray:
    data = getattr(v, "array", v)   # a chainrule Tensor's array, detached
    return np.asarray(data)


class Metric:
    """A running value: ``update_state(...)`` per batch, ``result()``, ``reset_state()``."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or _snake_name(type(self).__name__)
        self.reset_state()

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state``.

    Example:
        >>> m = Mean()
        >>> m.update_state([1.0, 3.0]); m.update_state(5.0, sample_weight=2)
        >>> m.result()
        3.5
    """

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        v = _numpy(values).astype(np.float64)
        if sample_weight is None:
            self.total += float(v.sum())
            self.count += v.size
            return
        w = np.broadcast_to(_numpy(sample_weight).astype(np.float64), v.shape)
        self.total += float((v * w).sum())
        self.count += float(w.sum())


class MeanMetricWrapper(Mean):
    """The mean over samples of ``fn(y_true, y_pred)`` (a batch-mean NumPy metric)."""

    def __init__(self, fn: MetricFn, name: str | None = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        yt, yp = _numpy(y_true), _numpy(y_pred)
        super().update_state(self.fn(yt, yp), sample_weight=len(yp) if yp.ndim else 1)


def _wrapper(fn: MetricFn) -> type[MeanMetricWrapper]:
    def __init__(self: MeanMetricWrapper, name: str | None = None) -> None:
        MeanMetricWrapper.__init__(self, fn, name or fn.__name__)
    return type(_camel(fn.__name__), (MeanMetricWrapper,), {"__init__": __init__,
                                                            "__doc__": fn.__doc__})


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _snake_name(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


CategoricalAccuracy = _wrapper(categorical_accuracy)
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy)
BinaryAccuracy = _wrapper(binary_accuracy)
MeanSquaredError = _wrapper(mean_squared_error)
MeanAbsoluteError = _wrapper(mean_absolute_error)
