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
    y = cr.where(y_true == 0, -1.0, y_true) if y_true.dtype.kind == "f" else y_true
    return _per_sample(cr.relu(1 - y * y_pred))


def categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """−Σ y·log p over the last axis, mean over the batch; ``y_true`` one-hot / probabilities.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> y_true = cr.tensor([[0.0, 1.0], [1.0, 0.0]])
        >>> y_pred = cr.tensor([[0.5, 0.5], [0.5, 0.5]])
        >>> keras.losses.categorical_crossentropy(y_true, y_pred)
        tensor(0.6931)
    """
    return _cce_values(y_true, y_pred).mean()


def sparse_categorical_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Categorical cross entropy with integer class targets (N,) against probabilities (N, C).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.sparse_categorical_crossentropy(cr.tensor([1, 0]), cr.tensor([[0.5,
        ...     0.5], [0.5, 0.5]]))
        tensor(0.6931)
    """
    return _scce_values(y_true, y_pred).mean()


def binary_crossentropy(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Binary cross entropy of probabilities ``y_pred`` against 0/1 targets, mean over the batch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.binary_crossentropy(cr.tensor([[1.0], [0.0]]), cr.tensor([[0.5], [0.5]]))
        tensor(0.6931)
    """
    return _bce_values(y_true, y_pred).mean()


def mean_squared_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Mean squared error over the last axis, mean over the batch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_squared_error(cr.tensor([[1.0, 2.0]]), cr.tensor([[2.0, 4.0]]))
        tensor(2.5000)
    """
    return _mse_values(y_true, y_pred).mean()


def mean_absolute_error(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Mean absolute error over the last axis, mean over the batch.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.mean_absolute_error(cr.tensor([[1.0, 2.0]]), cr.tensor([[2.0, 4.0]]))
        tensor(1.5000)
    """
    return _mae_values(y_true, y_pred).mean()


def hinge(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """mean(max(1 − y·ŷ, 0)); 0/1 labels are mapped to −1/1 as in Keras.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.hinge(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.5, -2.0]]))
        tensor(0.2500)
    """
    return _hinge_values(y_true, y_pred).mean()


_VALUES: dict[Any, LossFn] = {
    categorical_crossentropy: _cce_values, sparse_categorical_crossentropy: _scce_values,
    binary_crossentropy: _bce_values, mean_squared_error: _mse_values,
    mean_absolute_error: _mae_values, hinge: _hinge_values,
}


def sample_values(loss: LossFn, y_true: Tensor, y_pred: Tensor,
                  activation: str | None = None) -> Tensor:
    """The loss of each sample, shape (N,), for sample weighting.

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
        fused = _fused_values(loss, activation)
        if fused is not None:
            return fused(y_true, y_pred)
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
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "hinge": hinge,
}


def get(identifier: str | LossFn) -> LossFn:
    """The loss function named ``identifier`` (a callable is returned unchanged).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.get("mse") is keras.losses.mean_squared_error
        True
    """
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

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> fused = keras.losses.from_logits(keras.losses.binary_crossentropy, "sigmoid")
        >>> fused(cr.tensor([[1.0]]), cr.tensor([[2.0]]))
        tensor(0.1269)
        >>> keras.losses.from_logits(keras.losses.hinge, "sigmoid") is None
        True
    """
    values = _fused_values(loss, activation)
    return None if values is None else (lambda y, z: values(y, z).mean())


def _fused_values(loss: LossFn, activation: str) -> Callable[[Tensor, Tensor], Tensor] | None:
    if activation == "softmax" and loss is categorical_crossentropy:
        def cce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("categorical_crossentropy", y, z)
            v = F.cross_entropy(z.reshape(-1, z.shape[-1]), y.to(z.dtype).reshape(-1, z.shape[-1]),
                                reduction="none")
            return _per_sample(v.reshape(z.shape[0], -1))
        return cce
    if activation == "softmax" and loss is sparse_categorical_crossentropy:
        def scce(y: Tensor, z: Tensor) -> Tensor:
            v = F.cross_entropy(z.reshape(-1, z.shape[-1]), y.long().reshape(-1),
                                reduction="none")
            return _per_sample(v.reshape(z.shape[0], -1))
        return scce
    if activation == "sigmoid" and loss is binary_crossentropy:
        def bce(y: Tensor, z: Tensor) -> Tensor:
            _same_shape("binary_crossentropy", y, z)
            return _per_sample(F.binary_cross_entropy_with_logits(z, y.to(z.dtype),
                                                                  reduction="none"))
        return bce
    return None


def name_of(loss: Any) -> str:
    """The Keras name of a built-in loss, else the callable's ``__name__``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> keras.losses.name_of(keras.losses.mse), keras.losses.name_of(keras.losses.hinge)
        ('mean_squared_error', 'hinge')
    """
    for k, v in LOSSES.items():
        if v is loss:
            return k
    return getattr(loss, "__name__", "loss")
