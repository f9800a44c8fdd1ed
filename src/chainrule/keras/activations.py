"""Keras activation names mapped onto chainrule ops."""

from __future__ import annotations

from collections.abc import Callable

import chainrule as cr
from chainrule.tensor import Tensor

Activation = Callable[[Tensor], Tensor]


def linear(x: Tensor) -> Tensor:
    return x


def softmax(x: Tensor) -> Tensor:
    return cr.softmax(x, dim=-1)


def log_softmax(x: Tensor) -> Tensor:
    return cr.log_softmax(x, dim=-1)


def selu(x: Tensor) -> Tensor:
    return 1.0507009873554805 * cr.elu(x, 1.6732632423543772)


def softsign(x: Tensor) -> Tensor:
    return x / (1.0 + x.abs())


def hard_sigmoid(x: Tensor) -> Tensor:
    return cr.clamp(x / 6.0 + 0.5, 0.0, 1.0)


def leaky_relu(x: Tensor) -> Tensor:
    return cr.leaky_relu(x, 0.2)   # Keras's default negative slope


ACTIVATIONS: dict[str, Activation] = {
    "linear": linear, "relu": cr.relu, "sigmoid": cr.sigmoid, "tanh": cr.tanh,
    "softmax": softmax, "log_softmax": log_softmax, "elu": cr.elu, "selu": selu,
    "gelu": cr.gelu, "swish": cr.silu, "silu": cr.silu, "softplus": cr.softplus,
    "softsign": softsign, "exponential": cr.exp, "hard_sigmoid": hard_sigmoid,
    "leaky_relu": leaky_relu,
}


def get(identifier: str | Activation | None) -> Activation:
    """An activation function from a Keras name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return ACTIVATIONS[identifier]
    raise ValueError(f"Unknown activation {identifier!r}; expected one of {sorted(ACTIVATIONS)} "
                     f"or a callable")


def name_of(fn: Activation) -> str:
    for k, v in ACTIVATIONS.items():
        if v is fn:
            return k
    return getattr(fn, "__name__", "custom")
