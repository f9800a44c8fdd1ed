"""Keras metrics as NumPy functions ``metric(y_true, y_pred)`` → the per-sample values (as
Keras 3's: one per sample, or per element for ``binary_accuracy``), and Keras 3's stateful
metric classes (``update_state`` / ``result`` / ``reset_state``) that average such values.

``'accuracy'`` / ``'acc'`` resolves like Keras: binary, categorical or sparse-categorical
accuracy depending on the loss and the output shape (:func:`resolve`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "Mean", "MeanAbsoluteError", "MeanMetricWrapper",
    "MeanSquaredError", "Metric", "Precision", "Recall", "RootMeanSquaredError",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy",
    "Sum", "TopKCategoricalAccuracy", "binary_accuracy", "categorical_accuracy", "deserialize",
    "mean_absolute_error", "mean_squared_error", "resolve", "serialize",
    "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]

# a metric function: per-sample values, or (a user's) one float for the batch
MetricFn = Callable[[np.ndarray, np.ndarray], "np.ndarray | float"]


def categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where the arg-max of ``y_pred`` is that of one-hot ``y_true``, else 0; per sample.

    Example:
        >>> import numpy as np
        >>> categorical_accuracy(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
        array([1., 0.], dtype=float32)
    """
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """1 where the arg-max of ``y_pred`` is the integer class ``y_true``, else 0; per sample.

    Example:
        >>> import numpy as np
        >>> sparse_categorical_accuracy(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))
        array([1., 0.], dtype=float32)
    """
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    return (y_true == np.argmax(y_pred, -1)).astype(np.float32)


def binary_accuracy(y_true: np.ndarray, y_pred: np.ndarray,
                    threshold: float = 0.5) -> np.ndarray:
    """1 where ``y_pred`` > ``threshold`` (as 1, else 0) equals the label, else 0; per element.
    As in Keras, a label other than 0 or 1 (a soft label) never counts as a match.

    Example:
        >>> import numpy as np
        >>> binary_accuracy(np.array([[1.0], [0.0], [0.7]]), np.array([[0.9], [0.7], [0.9]]))
        array([[1.],
               [0.],
               [0.]], dtype=float32)
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    return (y_true == (y_pred > threshold)).astype(np.float32)


def top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray,
                               k: int = 5) -> np.ndarray:
    """1 where the one-hot target's score is among the ``k`` largest (ties count); per sample.

    Example:
        >>> import numpy as np
        >>> top_k_categorical_accuracy(np.array([[0, 0, 1]]), np.array([[0.5, 0.3, 0.2]]), k=2)
        array([0.], dtype=float32)
    """
    target = np.argmax(y_true, -1)
    return _in_top_k(target, y_pred, k).reshape(target.shape).astype(np.float32)


def sparse_top_k_categorical_accuracy(y_true: np.ndarray, y_pred: np.ndarray,
                                      k: int = 5) -> np.ndarray:
    """1 where the integer target's score is among the ``k`` largest (ties count); per sample.

    Example:
        >>> import numpy as np
        >>> sparse_top_k_categorical_accuracy(np.array([1]), np.array([[0.5, 0.3, 0.2]]), k=2)
        array([1.], dtype=float32)
    """
    return _in_top_k(y_true, y_pred, k).reshape(y_true.shape).astype(np.float32)


def mean_squared_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """mean((y − ŷ)²) over the last axis; per sample.

    Example:
        >>> import numpy as np
        >>> mean_squared_error(np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]]))
        array([2.5])
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    return np.mean((y_pred - y_true) ** 2, axis=-1)


def mean_absolute_error(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """mean(|y − ŷ|) over the last axis; per sample.

    Example:
        >>> import numpy as np
        >>> mean_absolute_error(np.array([[1.0, 2.0]]), np.array([[2.0, 4.0]]))
        array([1.5])
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


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
    """A running value: ``update_state(...)`` per batch, ``result()``, ``reset_state()``;
    calling it updates the state and returns the result."""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self.name = name or _snake_name(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype or "float32"}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

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


class _SampleMean(Mean):
    """The weighted mean over samples of ``values(y_true, y_pred)`` (one value per sample)."""

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define values(y_true, y_pred)")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        v = self.values(_numpy(y_true), _numpy(y_pred).astype(np.float64))
        if sample_weight is not None:
            w = _numpy(sample_weight).astype(np.float64)
            v = v.reshape(v.shape[:w.ndim] + (-1,)).mean(-1) if v.ndim > w.ndim else v
            sample_weight = w
        super().update_state(v, sample_weight)


class MeanMetricWrapper(_SampleMean):
    """The mean over samples of ``fn(y_true, y_pred)``'s per-sample values, weighted by
    ``sample_weight``; a function giving one float for the batch counts it for every sample.

    Example:
        >>> import numpy as np
        >>> m = MeanMetricWrapper(mean_absolute_error)
        >>> m.update_state(np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]]), [1.0, 0.0])
        >>> m.update_state(np.array([[0.0]]), np.array([[4.0]]))
        >>> m.result()
        2.5
    """

    def __init__(self, fn: MetricFn, name: str | None = None, dtype: Any = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"), dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        v = np.asarray(self.fn(y_true, y_pred), np.float64)
        return v if v.ndim else np.full(len(y_pred) if y_pred.ndim else 1, v)


def _wrapper(fn: MetricFn) -> type[MeanMetricWrapper]:
    def __init__(self: MeanMetricWrapper, name: str | None = None, dtype: Any = None) -> None:
        MeanMetricWrapper.__init__(self, fn, name or fn.__name__, dtype)
    return type(_camel(fn.__name__), (MeanMetricWrapper,), {"__init__": __init__,
                                                            "__doc__": fn.__doc__})


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_"))


def _snake_name(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


CategoricalAccuracy = _wrapper(categorical_accuracy)
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred`` > ``threshold`` matches the binary labels (``binary_accuracy``).

    Example:
        >>> import numpy as np
        >>> m = BinaryAccuracy(threshold=0.3)
        >>> m.update_state(np.array([[1.0], [0.0]]), np.array([[0.4], [0.2]]))
        >>> m.result()
        1.0
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        self.threshold = threshold
        super().__init__(functools.partial(binary_accuracy, threshold=threshold), name, dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


MeanSquaredError = _wrapper(mean_squared_error)
MeanAbsoluteError = _wrapper(mean_absolute_error)


# ---- Keras 3's metric classes over per-sample values ----

def _match_rank(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's squeeze_or_expand_to_same_rank on arrays."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b[..., None]) if b.ndim == 1 else (a[..., 0], b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a[..., None], b) if a.ndim == 1 else (a, b[..., 0])
    return a, b


class Accuracy(_SampleMean):
    """How often ``y_pred`` equals ``y_true`` exactly (use e.g. BinaryAccuracy for scores)."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        y_true, y_pred = _match_rank(y_true.astype(np.float64), y_pred)
        return np.mean(y_true == y_pred, axis=-1)


def _in_top_k(target: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """Whether the target class's score is among the k largest (ties count), per sample."""
    scores = y_pred.reshape(-1, y_pred.shape[-1])
    kth = -np.sort(-scores, axis=-1)[:, min(k, scores.shape[-1]) - 1]
    hit = np.take_along_axis(scores, target.reshape(-1, 1).astype(np.int64), -1)[:, 0] >= kth
    return hit.astype(np.float64)


class TopKCategoricalAccuracy(_SampleMean):
    """How often the one-hot target is among the ``k`` highest predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        self.k = k
        super().__init__(name, dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _in_top_k(np.argmax(y_true, -1), y_pred, self.k)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(_SampleMean):
    """How often the integer target is among the ``k`` highest predictions."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        self.k = k
        super().__init__(name, dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        return _in_top_k(y_true.reshape(-1), y_pred, self.k)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of (y_pred − y_true)² over everything seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def update_state(self, y_true: Any, y_pred: Any,  # type: ignore[override]
                     sample_weight: Any = None) -> None:
        y_true, y_pred = _match_rank(_numpy(y_true).astype(np.float64),
                                     _numpy(y_pred).astype(np.float64))
        err = (y_pred - y_true) ** 2
        if sample_weight is not None:
            w = _numpy(sample_weight).astype(np.float64)
            sample_weight = w.reshape(w.shape + (1,) * (err.ndim - w.ndim))
        super().update_state(err, sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state``."""

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        self.total = 0.0

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        v = _numpy(values).astype(np.float64)
        if sample_weight is not None:
            v = v * np.broadcast_to(_numpy(sample_weight).astype(np.float64), v.shape)
        self.total += float(v.sum())

    def result(self) -> float:
        return self.total


class _CrossentropyMetric(_SampleMean):
    """The mean over samples of the Loss class of the same name's per-sample values."""

    _loss: str

    def __init__(self, name: str, dtype: Any, **kwargs: Any) -> None:
        from chainrule.keras import losses
        self.kwargs = kwargs
        self.loss = getattr(losses, self._loss)(**kwargs)
        super().__init__(name, dtype)

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        import chainrule as cr
        with cr.no_grad():
            p = cr.from_numpy(y_pred)
            return np.asarray(self.loss.call(cr.from_numpy(y_true.astype(y_pred.dtype)), p).array)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        import chainrule as cr
        yt, yp = _numpy(y_true), _numpy(y_pred)
        mask = self.loss._mask(cr.from_numpy(yt), cr.from_numpy(yp))
        if mask is not None and sample_weight is not None:   # as Keras: only with weights
            sample_weight = mask.array * _numpy(sample_weight)
        super().update_state(yt, yp, sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.kwargs}


class BinaryCrossentropy(_CrossentropyMetric):
    """The mean binary cross entropy (``keras.losses.BinaryCrossentropy``'s values)."""

    _loss = "BinaryCrossentropy"

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0) -> None:
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_CrossentropyMetric):
    """The mean categorical cross entropy (``keras.losses.CategoricalCrossentropy``'s)."""

    _loss = "CategoricalCrossentropy"

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1) -> None:
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)


class SparseCategoricalCrossentropy(_CrossentropyMetric):
    """The mean sparse categorical cross entropy (of integer class targets). As in Keras,
    samples of ``ignore_class`` count as 0 in the mean, or, given sample weights, not at all."""

    _loss = "SparseCategoricalCrossentropy"

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: int | None = None,
                 axis: int = -1) -> None:
        super().__init__(name, dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)


# ---- confusion-matrix metrics ----

def _confusion(y_true: Any, y_pred: Any, thresholds: np.ndarray, sample_weight: Any,
               top_k: int | None = None, class_id: int | None = None,
               labels_axis: bool = False) -> dict[str, np.ndarray]:
    """Weighted tp, fp, tn, fn counts of ``y_pred > t`` for each threshold t, shape (T,) — or
    (T, labels) with ``labels_axis``."""
    yt = _numpy(y_true).astype(np.float64)
    yp = _numpy(y_pred).astype(np.float64)
    yt, yp = _match_rank(yt, yp)
    w = np.ones_like(yp) if sample_weight is None else _numpy(sample_weight).astype(np.float64)
    w = np.broadcast_to(w.reshape(w.shape + (1,) * (yp.ndim - w.ndim)), yp.shape)
    if top_k is not None:   # everything outside the top k predictions counts as negative
        kth = -np.sort(-yp, axis=-1)[..., top_k - 1:top_k]
        yp = np.where(yp >= kth, yp, -np.inf)
    if class_id is not None:
        yt, yp, w = yt[..., class_id], yp[..., class_id], w[..., class_id]
    n = yp.shape[-1] if labels_axis else 1
    labels, preds, w = (a.reshape(-1, n) for a in (yt != 0, yp, w))
    above = preds[None] > thresholds.reshape(-1, 1, 1)            # (T, samples, n)
    counts = {"tp": (above & labels) * w, "fp": (above & ~labels) * w,
              "tn": (~above & ~labels) * w, "fn": (~above & labels) * w}
    return {k: v.sum(1) if labels_axis else v.sum((1, 2)) for k, v in counts.items()}


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, 0 where b is 0 (Keras's divide_no_nan)."""
    b = np.asarray(b, np.float64)
    return np.where(b == 0, 0.0, np.asarray(a) / np.where(b == 0, 1.0, b))


class _ThresholdMetric(Metric):
    """Precision / Recall: counts at ``thresholds`` (0.5 by default), after keeping only the
    ``top_k`` predictions of each sample and the column ``class_id`` when given."""

    def __init__(self, thresholds: float | list[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        default = 0.5 if top_k is None else -np.inf
        self.thresholds = np.atleast_1d(np.asarray(default if thresholds is None else thresholds,
                                                   np.float64))
        super().__init__(name, dtype)

    def reset_state(self) -> None:
        n = len(getattr(self, "thresholds", ()))
        self.counts = {k: np.zeros(n) for k in ("tp", "fp", "tn", "fn")}

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        new = _confusion(y_true, y_pred, self.thresholds, sample_weight, self.top_k,
                         self.class_id)
        self.counts = {k: self.counts[k] + new[k] for k in new}   # copies share no state

    def _value(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define _value()")

    def result(self) -> float | list[float]:  # type: ignore[override]
        v = self._value()
        return float(v[0]) if np.ndim(self.init_thresholds) == 0 else [float(x) for x in v]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """tp / (tp + fp) of the predictions above the threshold(s)."""

    def _value(self) -> np.ndarray:
        return _divide(self.counts["tp"], self.counts["tp"] + self.counts["fp"])


class Recall(_ThresholdMetric):
    """tp / (tp + fn) of the predictions above the threshold(s)."""

    def _value(self) -> np.ndarray:
        return _divide(self.counts["tp"], self.counts["tp"] + self.counts["fn"])


class AUC(Metric):
    """Area under the ROC or PR curve, from counts at ``num_thresholds`` thresholds evenly
    spaced in [0, 1] (or the given ``thresholds`` with 0 − ε and 1 + ε added), summed by
    ``summation_method``: "interpolation" (trapezoids; for PR, Davis & Goadrich's
    interpolation), "minoring" or "majoring". With ``multi_label`` each label has its own
    curve and the result is their (``label_weights``-weighted) mean."""

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: list[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None,
                 label_weights: Any = None, from_logits: bool = False) -> None:
        if curve.upper() not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring', got {summation_method!r}")
        if thresholds is not None:
            inner = sorted(thresholds)
        elif num_thresholds <= 1:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 1. Received: "
                             f"num_thresholds={num_thresholds}")
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = len(inner) + 2
        self._thresholds = np.array([0.0 - 1e-7] + inner + [1.0 + 1e-7])
        self.init_thresholds = thresholds
        self.curve, self.summation_method = curve.upper(), summation_method
        self.multi_label, self.num_labels = multi_label, num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights,
                                                                           np.float64)
        self.from_logits = from_logits
        super().__init__(name or "auc", dtype)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def reset_state(self) -> None:
        self.counts: dict[str, np.ndarray] | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        yp = _numpy(y_pred).astype(np.float64)
        if self.from_logits:
            yp = 1.0 / (1.0 + np.exp(-yp))
        new = _confusion(y_true, yp, self._thresholds, sample_weight,
                         labels_axis=self.multi_label)
        self.counts = new if self.counts is None else {k: self.counts[k] + new[k] for k in new}

    def result(self) -> float:
        if self.counts is None:
            return 0.0
        tp, fp, tn, fn = (self.counts[k] for k in ("tp", "fp", "tn", "fn"))
        if self.curve == "PR" and self.summation_method == "interpolation":
            terms = self._interpolate_pr(tp, fp, fn)
        else:
            recall = _divide(tp, tp + fn)
            if self.curve == "ROC":
                x, y = _divide(fp, fp + tn), recall
            else:
                x, y = recall, _divide(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2.0
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            terms = (x[:-1] - x[1:]) * heights
        if not self.multi_label:
            return float(terms.sum())
        by_label = terms.sum(0)
        if self.label_weights is None:
            return float(by_label.mean())
        return float(_divide((by_label * self.label_weights).sum(), self.label_weights.sum()))

    @staticmethod
    def _interpolate_pr(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        """Davis & Goadrich (2006): precision interpolated between thresholds."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        slope = _divide(dtp, np.maximum(p[:-1] - p[1:], 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return _divide(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))

    def get_config(self) -> dict[str, Any]:
        lw = None if self.label_weights is None else self.label_weights.tolist()
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "curve": self.curve, "summation_method": self.summation_method,
                "thresholds": self.init_thresholds, "multi_label": self.multi_label,
                "num_labels": self.num_labels, "label_weights": lw,
                "from_logits": self.from_logits}


def serialize(metric: Metric) -> dict[str, Any]:
    """A Metric as a Keras config entry ``{module, class_name, config}``."""
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any]) -> Metric:
    """The Metric a :func:`serialize` entry (or Keras's) describes."""
    cls = globals().get(config.get("class_name", ""))
    if not (isinstance(cls, type) and issubclass(cls, Metric)) or cls.__name__.startswith("_"):
        raise ValueError(f"Unknown metric class: {config.get('class_name')!r}")
    return cls.from_config(config["config"])
