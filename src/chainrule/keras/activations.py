"""Keras's activations (``keras.activations``): functions on tensors under Keras's names and
arguments, and ``get``/``serialize``/``deserialize`` between names and functions."""

from __future__ import annotations

from collections.abc import Callable

import chainrule as cr
from chainrule.tensor import Tensor

Activation = Callable[[Tensor], Tensor]


def linear(x: Tensor) -> Tensor:
    """x (no activation)."""
    return x


def relu(x: Tensor, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> Tensor:
    """max(x, 0); with Keras's options: slope ``negative_slope`` below ``threshold``, capped
    at ``max_value``."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return cr.relu(x)
    out = cr.where(x >= threshold, x, negative_slope * (x - threshold)) if negative_slope \
        else cr.where(x > threshold, x, 0.0 * x)
    return out if max_value is None else cr.clamp(out, max=max_value)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + e^−x)."""
    return cr.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    """tanh x."""
    return cr.tanh(x)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha·(eˣ − 1)."""
    return cr.elu(x, alpha)


def selu(x: Tensor) -> Tensor:
    """scale·elu(x, alpha) with the self-normalising constants."""
    return 1.0507009873554805 * cr.elu(x, 1.6732632423543772)


def gelu(x: Tensor, approximate: bool = False) -> Tensor:
    """x·Φ(x) (the tanh approximation with ``approximate``)."""
    return cr.nn.functional.gelu(x, approximate="tanh" if approximate else "none")


def silu(x: Tensor) -> Tensor:
    """x·σ(x)."""
    return cr.silu(x)


swish = silu


def softplus(x: Tensor) -> Tensor:
    """ln(1 + eˣ)."""
    return cr.softplus(x)


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return x / (1.0 + x.abs())


def exponential(x: Tensor) -> Tensor:
    """eˣ."""
    return cr.exp(x)


def mish(x: Tensor) -> Tensor:
    """x·tanh(softplus(x))."""
    return x * cr.tanh(cr.softplus(x))


def relu6(x: Tensor) -> Tensor:
    """min(max(x, 0), 6)."""
    return cr.clamp(x, 0.0, 6.0)


def hard_sigmoid(x: Tensor) -> Tensor:
    """relu6(x + 3) / 6."""
    return cr.clamp(x / 6.0 + 0.5, 0.0, 1.0)


def hard_silu(x: Tensor) -> Tensor:
    """x·hard_sigmoid(x)."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def leaky_relu(x: Tensor, negative_slope: float = 0.2) -> Tensor:
    """x if x > 0 else negative_slope·x (Keras's default slope is 0.2)."""
    return cr.leaky_relu(x, negative_slope)


def log_sigmoid(x: Tensor) -> Tensor:
    """ln σ(x)."""
    return cr.nn.functional.logsigmoid(x)


def celu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha·(e^(x/alpha) − 1))."""
    return cr.nn.functional.celu(x, alpha)


def glu(x: Tensor, axis: int = -1) -> Tensor:
    """a·σ(b) for the two halves a, b of ``x`` along ``axis``."""
    return cr.nn.functional.glu(x, axis)


def hard_tanh(x: Tensor) -> Tensor:
    """x clamped to [−1, 1]."""
    return cr.clamp(x, -1.0, 1.0)


def hard_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """x where |x| > threshold, else 0."""
    return cr.nn.functional.hardshrink(x, threshold)


def soft_shrink(x: Tensor, threshold: float = 0.5) -> Tensor:
    """x moved toward 0 by ``threshold``, 0 within it."""
    return cr.nn.functional.softshrink(x, threshold)


def tanh_shrink(x: Tensor) -> Tensor:
    """x − tanh x."""
    return x - cr.tanh(x)


def squareplus(x: Tensor, b: float = 4) -> Tensor:
    """(x + √(x² + b)) / 2."""
    return (x + (x * x + b).sqrt()) / 2


def sparse_plus(x: Tensor) -> Tensor:
    """0 below −1, (x + 1)²/4 within [−1, 1], x above 1."""
    return cr.where(x <= -1, 0.0 * x, cr.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: Tensor) -> Tensor:
    """0 below −1, (x + 1)/2 within [−1, 1], 1 above."""
    return cr.clamp((x + 1) / 2, 0.0, 1.0)


def threshold(x: Tensor, threshold: float, default_value: float) -> Tensor:
    """x where x > threshold, else ``default_value``."""
    return cr.where(x > threshold, x, default_value + 0.0 * x)


def sparsemax(x: Tensor, axis: int = -1) -> Tensor:
    """The Euclidean projection of ``x`` onto the probability simplex along ``axis`` (sparse
    probabilities)."""
    z = x.movedim(axis, -1)
    srt = z.sort(-1, descending=True).values
    k = cr.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumulative = srt.cumsum(-1)
    support = (1 + k * srt > cumulative).to(z.dtype)
    n = support.sum(-1, keepdim=True)
    tau = ((srt * support).sum(-1, keepdim=True) - 1) / n
    return cr.clamp(z - tau, min=0.0).movedim(-1, axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """e^x / Σ e^x along ``axis``."""
    return cr.softmax(x, dim=axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x − log Σ e^x along ``axis``."""
    return cr.log_softmax(x, dim=axis)


ACTIVATIONS: dict[str, Activation] = {f.__name__: f for f in (
    linear, relu, sigmoid, tanh, softmax, log_softmax, elu, selu, gelu, silu, softplus,
    softsign, exponential, mish, relu6, hard_sigmoid, hard_silu, leaky_relu, log_sigmoid, celu,
    glu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink, squareplus, sparse_plus,
    sparse_sigmoid, sparsemax)}
ACTIVATIONS.update(swish=silu, hard_swish=hard_silu)
"""Keras's activation names → the functions above."""


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


def serialize(activation: Activation) -> str:
    """The Keras name of an activation function."""
    return name_of(activation)


def deserialize(name: str) -> Activation:
    """The activation function of a Keras name."""
    return get(name)
