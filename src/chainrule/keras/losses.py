"""Keras losses: ``loss(y_true, y_pred)`` → scalar mean over the batch.

Probability-space losses clip ``y_pred`` to [ε, 1 − ε] (ε = 1e-7) as Keras does. The model
does not use these for a softmax / sigmoid output layer: it computes the loss from the
layer's logits with a fused, stable op instead (see :func:`from_logits`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.tensor import Tensor

EPSILON = 1e-7
LossFn = Callable[[Tensor, Tensor], Tensor]


def _mean_over_batch(x: Tensor) -> Tensor:
    return x.mean()


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """−Σ y·log p over the last axis, mean over the batch; ``y_true`` one-hot / probabilities."""
    _same_shape("categorical_crossentropy", y_true, y_pred)
    p = cr.clamp(y_pred / y_pred.sum(dim=-1, keepdim=True), EPSILON, 1 - EPSILON)
    return -(y_true * p.log()).sum(dim=-1).mean()


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Categorical cross entropy with integer class targets (N,) against probabilities (N, C)."""
    idx = y_true.long().reshape(-1)
    p = cr.clamp(y_pred.reshape(idx.shape[0], -1), EPSILON, 1 - EPSILON)
    return -p.log().gather(1, idx.reshape(-1, 1)).mean()


def binary_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("binary_crossentropy", y_true, y_pred)
    p = cr.clamp(y_pred, EPSILON, 1 - EPSILON)
    return -(y_true * p.log() + (1 - y_true) * (1 - p).log()).mean()


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("mean_squared_error", y_true, y_pred)
    return ((y_pred - y_true) ** 2).mean()


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    _same_shape("mean_absolute_error", y_true, y_pred)
    return (y_pred - y_true).abs().mean()


def hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(max(1 − y·ŷ, 0)); 0/1 labels are mapped to −1/1 as in Keras."""
    _same_shape("hinge", y_true, y_pred)
    y = cr.where(y_true == 0, -1.0, y_true) if y_true.dtype.kind == "f" else y_true
    return cr.relu(1 - y * y_pred).mean()


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
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "hinge": hinge,
}


def get(identifier: str | LossFn) -> LossFn:
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in LOSSES:
        return LOSSES[identifier]
    raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(LOSSES)} or a "
                     f"callable loss(y_true, y_pred)")


def from_logits(loss: LossFn, activation: str) -> Callable[[Tensor, Tensor], Tensor] | None:
    """The fused logits form of ``loss`` after ``activation``, or None when there is none.

    softmax + categorical_crossentropy → ``F.cross_entropy`` with probability targets;
    softmax + sparse_categorical_crossentropy → ``F.cross_entropy`` with class indices;
    sigmoid + binary_crossentropy → ``F.binary_cross_entropy_with_logits``. These never
    form log(0), so saturated outputs give finite losses and gradients.
    """
    if activation == "softmax" and loss is categorical_crossentropy:
        def cce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("categorical_crossentropy", y, z)
            return F.cross_entropy(z, y.to(z.dtype))
        return cce
    if activation == "softmax" and loss is sparse_categorical_crossentropy:
        return lambda y, z: F.cross_entropy(z.reshape(-1, z.shape[-1]), y.long().reshape(-1))
    if activation == "sigmoid" and loss is binary_crossentropy:
        def bce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("binary_crossentropy", y, z)
            return F.binary_cross_entropy_with_logits(z, y.to(z.dtype))
        return bce
    return None


def name_of(loss: Any) -> str:
    for k, v in LOSSES.items():
        if v is loss:
            return k
    return getattr(loss, "__name__", "loss")
