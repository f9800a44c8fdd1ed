"""Keras losses: the functions ``loss(y_true, y_pred)`` → the per-sample losses (the last axis
reduced: shape (N,) for (N, C) inputs), and the ``Loss`` classes of Keras 3
(``MeanSquaredError()``, ``SparseCategoricalCrossentropy(from_logits=True)``, ...) whose
``__call__(y_true, y_pred, sample_weight=None)`` reduces those values as their ``reduction``
says (by default to their mean). ``compile`` reduces a function's values the same way.

Probability-space losses clip ``y_pred`` to [ε, 1 − ε] (ε = 1e-7) as Keras does. The model
does not use these for a softmax / sigmoid output layer: it computes the loss from the
layer's logits with a fused, stable op instead (see :func:`from_logits`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

__all__ = [
    "BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy",
    "CategoricalHinge", "CosineSimilarity", "Hinge", "Huber", "KLDivergence", "LogCosh", "Loss",
    "LossFunctionWrapper", "MAE", "MSE", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson", "SparseCategoricalCrossentropy",
    "SquaredHinge", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_hinge", "cosine_similarity", "deserialize", "get",
    "hinge", "huber", "kl_divergence", "log_cosh", "mae", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error",
    "mse", "poisson", "serialize", "sparse_categorical_crossentropy", "squared_hinge",
]

EPSILON = 1e-7
LossFn = Callable[[Tensor, Tensor], Tensor]


def _per_sample(v: Tensor) -> Tensor:
    """Mean over every axis but the first: one loss value per sample, shape (N,)."""
    return v.reshape(v.shape[0], -1).mean(dim=1) if v.ndim > 1 else v


def _cce_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("categorical_crossentropy", y_true, y_pred)
    p = cr.clamp(y_pred / y_pred.sum(dim=-1, keepdim=True), EPSILON, 1 - EPSILON)
    return _per_sample(-(y_true * p.log()).sum(dim=-1))


def _scce_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    idx = y_true.long().reshape(-1)
    p = cr.clamp(y_pred.reshape(idx.shape[0], -1), EPSILON, 1 - EPSILON)
    return _per_sample((-p.log().gather(1, idx.reshape(-1, 1))).reshape(y_pred.shape[0], -1))


def _bce_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("binary_crossentropy", y_true, y_pred)
    p = cr.clamp(y_pred, EPSILON, 1 - EPSILON)
    return _per_sample(-(y_true * p.log() + (1 - y_true) * (1 - p).log()))


def _mse_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("mean_squared_error", y_true, y_pred)
    return _per_sample((y_pred - y_true) ** 2)


def _mae_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("mean_absolute_error", y_true, y_pred)
    return _per_sample((y_pred - y_true).abs())


def _hinge_values(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("hinge", y_true, y_pred)
    return _per_sample(cr.relu(1 - _hinge_labels(y_true) * y_pred))


def _hinge_labels(y: Tensor) -> Tensor:
    """0/1 labels as −1/1 (as Keras: only when every label is 0 or 1)."""
    a = y.array
    return 2 * y - 1 if bool(((a == 0) | (a == 1)).all()) else y


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """−Σ y·log p over ``axis``, one value per sample; ``y_true`` one-hot / probabilities,
    ``y_pred`` probabilities (logits with ``from_logits``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.categorical_crossentropy(cr.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
        ...     cr.tensor([[0.1, 0.8, 0.1], [0.5, 0.25, 0.25]]))
        tensor([0.2231, 0.6931])
    """
    _same_shape("categorical_crossentropy", y_true, y_pred)
    return _cce_rows(y_true, y_pred, from_logits, label_smoothing, axis)


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    """Categorical cross entropy of integer class targets (N,) against probabilities (N, C)
    (logits with ``from_logits``), one value per sample; targets equal to ``ignore_class``
    give 0.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.sparse_categorical_crossentropy(cr.tensor([1, 0]),
        ...     cr.tensor([[0.1, 0.8, 0.1], [0.5, 0.25, 0.25]]))
        tensor([0.2231, 0.6931])
    """
    return _scce_rows(y_true, y_pred, from_logits, ignore_class, axis)


def binary_crossentropy(y_true: Tensor, y_pred: Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """−(y·log p + (1 − y)·log(1 − p)), mean over ``axis``; ``y_pred`` probabilities (logits
    with ``from_logits``), targets smoothed towards ½ by ``label_smoothing``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.binary_crossentropy(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.8, 0.4]]))
        tensor([0.3670])
    """
    _same_shape("binary_crossentropy", y_true, y_pred)
    return _bce_rows(y_true, y_pred, from_logits, label_smoothing, axis)


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean((y − ŷ)²) over the last axis, one value per sample.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_squared_error(cr.tensor([[1.0, 2.0], [0.0, 0.0]]),
        ...     cr.tensor([[2.0, 4.0], [1.0, 1.0]]))
        tensor([2.5000, 1.0000])
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    _same_shape("mean_squared_error", y_true, y_pred)
    return _mse_rows(y_true, y_pred)


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(|y − ŷ|) over the last axis, one value per sample.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_absolute_error(cr.tensor([[1.0, 2.0]]), cr.tensor([[2.0, 4.0]]))
        tensor([1.5000])
    """
    y_true, y_pred = _match_rank(y_true, y_pred)
    _same_shape("mean_absolute_error", y_true, y_pred)
    return _mae_rows(y_true, y_pred)


def hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(max(1 − y·ŷ, 0)) over the last axis; 0/1 labels are mapped to −1/1 as in Keras.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.hinge(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.5, -2.0]]))
        tensor([0.2500])
    """
    _same_shape("hinge", y_true, y_pred)
    return _hinge_rows(y_true, y_pred)


# ---- Keras's per-sample forms: reduce the last axis (what a Loss class's ``call`` returns) ----

def _mse_rows(y: Tensor, p: Tensor) -> Tensor:
    return ((y - p) ** 2).mean(dim=-1)


def _mae_rows(y: Tensor, p: Tensor) -> Tensor:
    return (y - p).abs().mean(dim=-1)


def _mape_rows(y: Tensor, p: Tensor) -> Tensor:
    return 100.0 * ((y - p) / cr.clamp(y.abs(), min=EPSILON)).abs().mean(dim=-1)


def _msle_rows(y: Tensor, p: Tensor) -> Tensor:
    first = (cr.clamp(p, min=EPSILON) + 1.0).log()
    return ((first - (cr.clamp(y, min=EPSILON) + 1.0).log()) ** 2).mean(dim=-1)


def _cosine_rows(y: Tensor, p: Tensor, axis: int = -1) -> Tensor:
    return -(F.normalize(y, dim=axis) * F.normalize(p, dim=axis)).sum(dim=axis)


def _huber_rows(y: Tensor, p: Tensor, delta: float = 1.0) -> Tensor:
    err = p - y
    a = err.abs()
    return cr.where(a <= delta, 0.5 * err ** 2, delta * a - 0.5 * delta ** 2).mean(dim=-1)


def _log_cosh_rows(y: Tensor, p: Tensor) -> Tensor:
    x = p - y   # log cosh x = x + softplus(−2x) − log 2, stable for large |x|
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(dim=-1)


def _kl_rows(y: Tensor, p: Tensor) -> Tensor:
    y, p = cr.clamp(y, EPSILON, 1.0), cr.clamp(p, EPSILON, 1.0)
    return (y * (y / p).log()).sum(dim=-1)


def _poisson_rows(y: Tensor, p: Tensor) -> Tensor:
    return (p - y * (p + EPSILON).log()).mean(dim=-1)


def _hinge_rows(y: Tensor, p: Tensor) -> Tensor:
    return cr.relu(1.0 - _hinge_labels(y) * p).mean(dim=-1)


def _squared_hinge_rows(y: Tensor, p: Tensor) -> Tensor:
    return (cr.relu(1.0 - _hinge_labels(y) * p) ** 2).mean(dim=-1)


def _categorical_hinge_rows(y: Tensor, p: Tensor) -> Tensor:
    pos = (y * p).sum(dim=-1)
    neg = ((1.0 - y) * p).amax(-1)
    return cr.relu(neg - pos + 1.0)


def _cce_rows(y: Tensor, p: Tensor, from_logits: bool = False, label_smoothing: float = 0.0,
              axis: int = -1) -> Tensor:
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + label_smoothing / y.shape[axis]
    if from_logits:
        return -(y * F.log_softmax(p, dim=axis)).sum(dim=axis)
    p = cr.clamp(p / p.sum(dim=axis, keepdim=True), EPSILON, 1.0 - EPSILON)
    return -(y * p.log()).sum(dim=axis)


def _scce_rows(y: Tensor, p: Tensor, from_logits: bool = False, ignore_class: int | None = None,
               axis: int = -1) -> Tensor:
    if y.ndim == p.ndim and y.shape[axis] == 1:
        y = y.squeeze(axis)
    if axis not in (-1, p.ndim - 1):
        p = p.movedim(axis, -1)
    idx = y.long()
    if ignore_class is not None:
        keep = idx != ignore_class
        idx = cr.where(keep, idx, 0)
    if from_logits:
        logp = F.log_softmax(p, dim=-1)
    else:
        logp = cr.clamp(p / p.sum(dim=-1, keepdim=True), EPSILON, 1.0 - EPSILON).log()
    out = -logp.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
    return out if ignore_class is None else cr.where(keep, out, 0.0)


def _bce_elements(y: Tensor, p: Tensor, from_logits: bool) -> Tensor:
    if from_logits:
        return F.binary_cross_entropy_with_logits(p, y, reduction="none")
    p = cr.clamp(p, EPSILON, 1.0 - EPSILON)
    return -(y * p.log() + (1.0 - y) * (1.0 - p).log())


def _bce_rows(y: Tensor, p: Tensor, from_logits: bool = False, label_smoothing: float = 0.0,
              axis: int = -1) -> Tensor:
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return _bce_elements(y, p, from_logits).mean(dim=axis)


def _binary_focal_rows(y: Tensor, p: Tensor, apply_class_balancing: bool = False,
                       alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                       label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    if label_smoothing:
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = cr.sigmoid(p)
    p_t = y * p + (1.0 - y) * (1.0 - p)
    focal = (1.0 - p_t) ** gamma * _bce_elements(y, p, False)
    if apply_class_balancing:
        focal = (y * alpha + (1.0 - y) * (1.0 - alpha)) * focal
    return focal.mean(dim=axis)


def mean_absolute_percentage_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_absolute_percentage_error(cr.tensor([[1.0, 2.0]]),
        ...     cr.tensor([[2.0, 4.0]]))
        tensor([100.])
    """
    return _mape_rows(*_match_rank(y_true, y_pred))


def mean_squared_logarithmic_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean((log(1 + ŷ) − log(1 + y))²) over the last axis, both clipped below at ε.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_squared_logarithmic_error(cr.tensor([[0.0, 1.0]]),
        ...     cr.tensor([[1.0, 1.0]]))
        tensor([0.2402])
    """
    return _msle_rows(*_match_rank(y_true, y_pred))


def cosine_similarity(y_true: Tensor, y_pred: Tensor, axis: int = -1) -> Tensor:
    """−(ŷ/‖ŷ‖ · y/‖y‖) along ``axis``: −1 when aligned.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.cosine_similarity(cr.tensor([[0.0, 1.0], [1.0, 1.0]]),
        ...     cr.tensor([[1.0, 1.0], [1.0, 1.0]]))
        tensor([-0.7071, -1.0000])
    """
    return _cosine_rows(*_match_rank(y_true, y_pred), axis=axis)


def huber(y_true: Tensor, y_pred: Tensor, delta: float = 1.0) -> Tensor:
    """½e² where |e| ≤ delta, else delta·(|e| − ½delta); e = ŷ − y; mean over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.huber(cr.tensor([[0.0, 0.0]]), cr.tensor([[0.5, 2.0]]))
        tensor([0.8125])
    """
    return _huber_rows(*_match_rank(y_true, y_pred), delta=delta)


def log_cosh(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(log(cosh(ŷ − y))) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.log_cosh(cr.tensor([[0.0, 0.0]]), cr.tensor([[1.0, -1.0]]))
        tensor([0.4338])
    """
    return _log_cosh_rows(*_match_rank(y_true, y_pred))


def kl_divergence(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Σ y·log(y/ŷ) over the last axis (both clipped to [ε, 1]).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.kl_divergence(cr.tensor([[0.5, 0.5]]), cr.tensor([[0.25, 0.75]]))
        tensor([0.1438])
    """
    return _kl_rows(y_true, y_pred)


def poisson(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(ŷ − y·log(ŷ + ε)) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.poisson(cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0, 1.0]]))
        tensor([1.0000])
    """
    return _poisson_rows(y_true, y_pred)


def squared_hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(max(1 − y·ŷ, 0)²) over the last axis; 0/1 labels are mapped to −1/1.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.squared_hinge(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.5, -2.0]]))
        tensor([0.1250])
    """
    return _squared_hinge_rows(y_true, y_pred)


def categorical_hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """max(max((1 − y)·ŷ) − Σ y·ŷ + 1, 0) over the last axis, with one-hot ``y_true``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.categorical_hinge(cr.tensor([[0.0, 1.0]]), cr.tensor([[0.5, 0.25]]))
        tensor([1.2500])
    """
    return _categorical_hinge_rows(y_true, y_pred)


def binary_focal_crossentropy(y_true: Tensor, y_pred: Tensor, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Binary cross entropy scaled by (1 − p_t)^gamma (and alpha with class balancing), mean
    over ``axis``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.binary_focal_crossentropy(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.8, 0.4]]))
        tensor([0.0453])
    """
    return _binary_focal_rows(y_true, y_pred, apply_class_balancing, alpha, gamma, from_logits,
                              label_smoothing, axis)


# ---- the Loss classes ----

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base of Keras's loss classes: ``call(y_true, y_pred)`` gives the per-sample values,
    ``__call__`` weights them by ``sample_weight`` and reduces them by ``reduction``:
    "sum_over_batch_size" (the default; "mean" is the same) divides the weighted sum by the
    number of values, "mean_with_sample_weight" by the sum of the weights, "sum" sums,
    "none" / None returns them.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> class AbsSum(keras.losses.Loss):
        ...     def call(self, y_true, y_pred):
        ...         return (y_pred - y_true).abs().sum(-1)
        >>> y_true = cr.tensor([[0.0, 0.0], [1.0, 1.0]])
        >>> y_pred = cr.tensor([[1.0, 2.0], [1.0, 0.0]])
        >>> AbsSum(reduction="sum")(y_true, y_pred)
        tensor(4.)
        >>> AbsSum()(y_true, y_pred, sample_weight=cr.tensor([1.0, 0.0]))
        tensor(1.5000)
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{REDUCTIONS}. Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _as_tensor(y_pred, self.dtype)
        y_true = _as_tensor(y_true, y_pred.dtype)
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight,
                                      self._mask(y_true, y_pred), self.reduction)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred)")

    def _mask(self, y_true: Tensor, y_pred: Tensor) -> Tensor | None:
        """The per-sample values that count (None: all)."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A Loss whose ``call`` is ``fn(y_true, y_pred, **kwargs)`` after matching the ranks.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> loss = keras.losses.LossFunctionWrapper(
        ...     lambda y, p, scale: scale * (y - p).abs().sum(-1), name="scaled_l1", scale=2.0)
        >>> loss(cr.tensor([[0.0, 0.0], [1.0, 1.0]]), cr.tensor([[1.0, 2.0], [1.0, 0.0]]))
        tensor(4.)
        >>> loss.get_config()
        {'name': 'scaled_l1', 'reduction': 'sum_over_batch_size', 'scale': 2.0}
    """

    def __init__(self, fn: Callable[..., Tensor], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(*_match_rank(y_true, y_pred), **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}

    def with_logits(self, activation: str) -> Loss | None:
        """This loss computed from the logits before ``activation``, or None when there is no
        such fused form (cross entropies after softmax / sigmoid)."""
        fused = {"softmax": (_cce_rows, _scce_rows), "sigmoid": (_bce_rows,)}.get(activation, ())
        if self.fn not in fused or self._fn_kwargs.get("from_logits"):
            return None
        out = copy.copy(self)
        out._fn_kwargs = {**self._fn_kwargs, "from_logits": True}
        return out


_R = "sum_over_batch_size"


class MeanSquaredError(LossFunctionWrapper):
    """mean((y − ŷ)²) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.MeanSquaredError()(cr.tensor([[1.0, 2.0]]), cr.tensor([[2.0, 4.0]]))
        tensor(2.5000)
    """

    def __init__(self, reduction: str | None = _R, name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(_mse_rows, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean(|y − ŷ|) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.MeanAbsoluteError()(cr.tensor([[1.0, 2.0]]), cr.tensor([[2.0, 4.0]]))
        tensor(1.5000)
    """

    def __init__(self, reduction: str | None = _R, name: str = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(_mae_rows, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 · mean(|y − ŷ| / max(|y|, ε)) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.MeanAbsolutePercentageError()(cr.tensor([[1.0, 2.0]]),
        ...     cr.tensor([[2.0, 4.0]]))
        tensor(100.)
    """

    def __init__(self, reduction: str | None = _R, name: str = "mean_absolute_percentage_error",
                 dtype: Any = None) -> None:
        super().__init__(_mape_rows, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean((log(1 + ŷ) − log(1 + y))²) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.MeanSquaredLogarithmicError()(cr.tensor([[0.0, 1.0]]),
        ...     cr.tensor([[1.0, 1.0]]))
        tensor(0.2402)
    """

    def __init__(self, reduction: str | None = _R, name: str = "mean_squared_logarithmic_error",
                 dtype: Any = None) -> None:
        super().__init__(_msle_rows, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """−cosine similarity of y and ŷ along ``axis``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.CosineSimilarity()(cr.tensor([[0.0, 1.0], [1.0, 1.0]]),
        ...     cr.tensor([[1.0, 1.0], [1.0, 1.0]]))
        tensor(-0.8536)
    """

    def __init__(self, axis: int = -1, reduction: str | None = _R,
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(_cosine_rows, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Quadratic for errors up to ``delta``, linear beyond; mean over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.Huber()(cr.tensor([[0.0, 0.0]]), cr.tensor([[0.5, 2.0]]))
        tensor(0.8125)
    """

    def __init__(self, delta: float = 1.0, reduction: str | None = _R, name: str = "huber_loss",
                 dtype: Any = None) -> None:
        super().__init__(_huber_rows, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(LossFunctionWrapper):
    """mean(log(cosh(ŷ − y))) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.LogCosh()(cr.tensor([[0.0, 0.0]]), cr.tensor([[1.0, -1.0]]))
        tensor(0.4338)
    """

    def __init__(self, reduction: str | None = _R, name: str = "log_cosh",
                 dtype: Any = None) -> None:
        super().__init__(_log_cosh_rows, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """mean(max(1 − y·ŷ, 0)) over the last axis; 0/1 labels become −1/1.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.Hinge()(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.5, -2.0]]))
        tensor(0.2500)
    """

    def __init__(self, reduction: str | None = _R, name: str = "hinge",
                 dtype: Any = None) -> None:
        super().__init__(_hinge_rows, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """mean(max(1 − y·ŷ, 0)²) over the last axis; 0/1 labels become −1/1.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.SquaredHinge()(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.5, -2.0]]))
        tensor(0.1250)
    """

    def __init__(self, reduction: str | None = _R, name: str = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(_squared_hinge_rows, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """max(max((1 − y)·ŷ) − Σ y·ŷ + 1, 0) with one-hot ``y_true``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.CategoricalHinge()(cr.tensor([[0.0, 1.0]]), cr.tensor([[0.5, 0.25]]))
        tensor(1.2500)
    """

    def __init__(self, reduction: str | None = _R, name: str = "categorical_hinge",
                 dtype: Any = None) -> None:
        super().__init__(_categorical_hinge_rows, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Σ y·log(y/ŷ) over the last axis, both clipped to [ε, 1].

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.KLDivergence()(cr.tensor([[0.5, 0.5]]), cr.tensor([[0.25, 0.75]]))
        tensor(0.1438)
    """

    def __init__(self, reduction: str | None = _R, name: str = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(_kl_rows, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """mean(ŷ − y·log(ŷ + ε)) over the last axis.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.Poisson()(cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0, 1.0]]))
        tensor(1.0000)
    """

    def __init__(self, reduction: str | None = _R, name: str = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(_poisson_rows, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross entropy of probabilities (or logits with ``from_logits``), targets
    smoothed towards ½ by ``label_smoothing``; mean over ``axis``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.BinaryCrossentropy()(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.8, 0.4]]))
        tensor(0.3670)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = _R, name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(_bce_rows, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary cross entropy down-weighting easy examples by (1 − p_t)^gamma; with
    ``apply_class_balancing`` class 1 is weighted by ``alpha``, class 0 by 1 − alpha.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.BinaryFocalCrossentropy()(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.8, 0.4]]))
        tensor(0.0453)
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = _R,
                 name: str = "binary_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(_binary_focal_rows, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(LossFunctionWrapper):
    """−Σ y·log p over ``axis`` for one-hot / probability targets (smoothed towards uniform
    by ``label_smoothing``) and probabilities (or logits with ``from_logits``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.CategoricalCrossentropy()(cr.tensor([[0.0, 1.0, 0.0]]),
        ...     cr.tensor([[0.1, 0.8, 0.1]]))
        tensor(0.2231)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = _R, name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(_cce_rows, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """−log p[y] for integer class targets; targets equal to ``ignore_class`` do not count
    (nor towards the batch size of the default reduction).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.SparseCategoricalCrossentropy()(cr.tensor([1]),
        ...     cr.tensor([[0.1, 0.8, 0.1]]))
        tensor(0.2231)
    """

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = _R, axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(_scce_rows, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _mask(self, y_true: Tensor, y_pred: Tensor) -> Tensor | None:
        ignore = self._fn_kwargs["ignore_class"]
        if ignore is None:
            return None
        y = y_true.squeeze(-1) if y_true.ndim == y_pred.ndim else y_true
        return y.long() != ignore


def reduce_weighted_values(values: Tensor, sample_weight: Any = None, mask: Tensor | None = None,
                           reduction: str | None = _R) -> Tensor:
    """Per-sample ``values`` weighted by ``sample_weight`` (and ``mask``) and reduced."""
    weight = None if sample_weight is None else _as_tensor(sample_weight, values.dtype)
    if mask is not None:
        m = mask.to(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = float(m.sum().item())   # masked-out values do not count in the batch size
            m = m * (m.numel() / valid if valid else 0.0)
        if weight is not None:
            m, weight = _match_rank(m, weight)
            m = m * weight
        weight = m
    if weight is not None:
        values, weight = _match_rank(values, weight)
        values = values * weight
    if reduction in (None, "none") or values.ndim == 0 or values.numel() == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    divisor = values.numel()
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = float(weight.sum().item())
    return total / divisor if divisor else total * 0.0


def _match_rank(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's squeeze_or_expand_to_same_rank: ranks one apart with a trailing 1 are aligned."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b.unsqueeze(-1)) if b.ndim == 1 else (a.squeeze(-1), b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a.unsqueeze(-1), b) if a.ndim == 1 else (a, b.squeeze(-1))
    return a, b


def _as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """``x`` as a float Tensor: a Tensor keeps its float dtype unless ``dtype`` is given; other
    values become ``dtype`` or float32 (Keras's floatx)."""
    if isinstance(x, Tensor):
        if dtype is not None and x.dtype != np.dtype(dtype):
            return x.to(np.dtype(dtype))
        return x if x.dtype.kind == "f" else x.to(np.float32)
    return cr.from_numpy(np.asarray(getattr(x, "array", x), dtype=dtype or np.float32))


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


# what compile weights and averages for each function, shape (N,): the function's values
# averaged over every axis after the first (a 1-D output counts one value per sample)
_VALUES: dict[Any, LossFn] = {
    categorical_crossentropy: _cce_values, sparse_categorical_crossentropy: _scce_values,
    binary_crossentropy: _bce_values, mean_squared_error: _mse_values,
    mean_absolute_error: _mae_values, hinge: _hinge_values,
}


def sample_values(loss: LossFn, y_true: Tensor, y_pred: Tensor,
                  activation: str | None = None) -> Tensor:
    """The loss of each sample, shape (N,) (a mean over any axes after the first): what
    ``compile`` weights by ``sample_weight`` and averages over the batch.

    With ``activation`` ('softmax' / 'sigmoid') ``y_pred`` holds the logits before it, and a
    fused form is used where :func:`from_logits` has one. A user loss that returns one value
    per batch gives that value for every sample.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.sample_values(keras.losses.mse, cr.tensor([[1.0], [2.0]]),
        ...     cr.tensor([[1.0], [4.0]]))
        tensor([0., 4.])
    """
    if activation is not None:
        fused = from_logits(loss, activation)
        if fused is not None:
            return _per_sample(fused(y_true, y_pred))
        y_pred = _activate(y_pred, activation)
    fn = _VALUES.get(loss)
    if fn is not None:
        return fn(y_true, y_pred)
    out = loss(y_true, y_pred)
    return _per_sample(out) if out.ndim else out.expand(y_pred.shape[0])


def _activate(z: Tensor, activation: str) -> Tensor:
    from chainrule.keras import activations
    return activations.get(activation)(z)


def _same_shape(name: str, y_true: Tensor, y_pred: Tensor) -> None:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(f"{name}: y_true has shape {tuple(y_true.shape)} but y_pred has shape "
                         f"{tuple(y_pred.shape)}; they must match (one-hot encode class labels "
                         f"with keras.utils.to_categorical, or use the sparse_ loss)")


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

LOSSES: dict[str, LossFn] = {
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy,
    "binary_focal_crossentropy": binary_focal_crossentropy,
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "cosine_similarity": cosine_similarity, "huber": huber, "log_cosh": log_cosh,
    "kl_divergence": kl_divergence, "poisson": poisson, "hinge": hinge,
    "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
}
_VALUES.update({f: (lambda rows: lambda y, p: _per_sample(rows(*_match_rank(y, p))))(r)
                for f, r in ((mean_absolute_percentage_error, _mape_rows),
                             (mean_squared_logarithmic_error, _msle_rows),
                             (cosine_similarity, _cosine_rows), (huber, _huber_rows),
                             (log_cosh, _log_cosh_rows), (kl_divergence, _kl_rows),
                             (poisson, _poisson_rows), (squared_hinge, _squared_hinge_rows),
                             (categorical_hinge, _categorical_hinge_rows),
                             (binary_focal_crossentropy, _binary_focal_rows))})
# the function a Loss class wraps, by its name in LOSSES (for metric resolution)
_ROWS_NAME = {_cce_rows: "categorical_crossentropy", _scce_rows: "sparse_categorical_crossentropy",
              _bce_rows: "binary_crossentropy", _binary_focal_rows: "binary_focal_crossentropy"}


def get(identifier: str | dict[str, Any] | LossFn) -> LossFn:
    """A loss from a name, a saved config entry, a ``Loss`` instance or a callable.

    Example:
        >>> from chainrule import keras
        >>> keras.losses.get("mse") is keras.losses.mean_squared_error
        True
        >>> keras.losses.get({"class_name": "Huber", "config": {"delta": 2.0}})
        <Huber name=huber_loss>
    """
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]
    raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(LOSSES)}, a "
                     f"keras.losses.Loss or a callable loss(y_true, y_pred)")


def serialize(loss: Loss) -> dict[str, Any]:
    """A Loss as a Keras config entry ``{module, class_name, config}``.

    Example:
        >>> from chainrule import keras
        >>> keras.losses.serialize(keras.losses.Huber(delta=2.0))  # doctest: +NORMALIZE_WHITESPACE
        {'module': 'keras.losses', 'class_name': 'Huber',
         'config': {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'delta': 2.0},
         'registered_name': None}
    """
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}


def deserialize(config: dict[str, Any]) -> Loss:
    """The Loss a :func:`serialize` entry (or Keras's) describes.

    Example:
        >>> from chainrule import keras
        >>> loss = keras.losses.deserialize(keras.losses.serialize(keras.losses.Huber(delta=2.0)))
        >>> loss, loss.get_config()["delta"]
        (<Huber name=huber_loss>, 2.0)
    """
    cls = globals().get(config.get("class_name", ""))
    if not (isinstance(cls, type) and issubclass(cls, Loss)) or cls is LossFunctionWrapper:
        raise ValueError(f"Unknown loss class: {config.get('class_name')!r}")
    return cls.from_config(config["config"])


def of_output(loss: Loss, y_true: Tensor, output: Tensor, activation: str | None,
              sample_weight: Any) -> Tensor:
    """A Loss of a layer's ``output`` whose ``activation`` is still pending (``output`` holds
    its logits): the fused logits form where the loss has one, else loss(activation(output))."""
    if activation is not None:
        fused = loss.with_logits(activation) if isinstance(loss, LossFunctionWrapper) else None
        if fused is None:
            output = _activate(output, activation)
        else:
            loss = fused
    return loss(y_true, output, sample_weight=sample_weight)


def from_logits(loss: LossFn, activation: str) -> Callable[[Tensor, Tensor], Tensor] | None:
    """The fused logits form of ``loss`` after ``activation`` (the same per-sample values as
    ``loss(y_true, activation(logits))``), or None when there is none.

    softmax + categorical_crossentropy → ``F.cross_entropy`` with probability targets;
    softmax + sparse_categorical_crossentropy → ``F.cross_entropy`` with class indices;
    sigmoid + binary_crossentropy → ``F.binary_cross_entropy_with_logits``. These never
    form log(0), so saturated outputs give finite losses and gradients.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> fused = keras.losses.from_logits(keras.losses.binary_crossentropy, "sigmoid")
        >>> fused(cr.tensor([[1.0], [0.0]]), cr.tensor([[2.0], [0.0]]))
        tensor([0.1269, 0.6931])
        >>> keras.losses.from_logits(keras.losses.hinge, "sigmoid") is None
        True
    """
    if activation == "softmax" and loss is categorical_crossentropy:
        def cce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("categorical_crossentropy", y, z)
            v = F.cross_entropy(z.reshape(-1, z.shape[-1]), y.to(z.dtype).reshape(-1, z.shape[-1]),
                                reduction="none")
            return v.reshape(z.shape[:-1])
        return cce
    if activation == "softmax" and loss is sparse_categorical_crossentropy:
        def scce(y: Tensor, z: Tensor) -> Tensor:
            v = F.cross_entropy(z.reshape(-1, z.shape[-1]), y.long().reshape(-1),
                                reduction="none")
            return v.reshape(z.shape[:-1])
        return scce
    if activation == "sigmoid" and loss is binary_crossentropy:
        def bce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("binary_crossentropy", y, z)
            return F.binary_cross_entropy_with_logits(z, y.to(z.dtype), reduction="none").mean(-1)
        return bce
    return None


def name_of(loss: Any) -> str:
    if isinstance(loss, LossFunctionWrapper):
        return _ROWS_NAME.get(loss.fn, loss.name)
    for k, v in LOSSES.items():
        if v is loss:
            return k
    return getattr(loss, "__name__", "loss")
