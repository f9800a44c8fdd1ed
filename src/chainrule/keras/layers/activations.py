"""Activation layers: ``Activation``, ``ReLU``, ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule.keras.layers.core import _WithActivation
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class _Elementwise(Layer):
    supports_masking = True

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)


class Activation(_WithActivation, _Elementwise):
    """Apply an activation by name or callable.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Activation("relu")(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    config_keys = ("activation",)

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(activation, **kwargs)

    def call_linear(self, x: Tensor) -> Tensor:
        return x


class ReLU(_Elementwise):
    """``x`` for ``x >= threshold``, ``negative_slope · (x − threshold)`` below, capped at
    ``max_value``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.ReLU(max_value=6.0)(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([-0.,  3.,  6.])
    """

    config_keys = ("max_value", "negative_slope", "threshold")

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        for what, v in (("max_value", max_value), ("negative_slope", negative_slope),
                        ("threshold", threshold)):
            if v is not None and v < 0:
                raise ValueError(f"{what} of a ReLU layer cannot be a negative value. "
                                 f"Received: {what}={v}")
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, x: Tensor) -> Tensor:
        y = cr.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else cr.clamp(y, max=self.max_value)


class LeakyReLU(_Elementwise):
    """``x`` if ``x > 0`` else ``negative_slope · x`` (Keras's default slope 0.3).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.LeakyReLU(negative_slope=0.1)(cr.tensor([-1.0, 2.0]))
        tensor([-0.1000,  2.0000])
    """

    config_keys = ("negative_slope",)

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if negative_slope is None or negative_slope < 0:
            raise ValueError(f"The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        super().__init__(**kwargs)
        self.negative_slope = negative_slope

    def call(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)


class ELU(_Elementwise):
    """``x`` if ``x > 0`` else ``alpha · (eˣ − 1)``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.ELU()(cr.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """

    config_keys = ("alpha",)

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)


class PReLU(_Elementwise):
    """``x`` if ``x > 0`` else ``alpha · x`` with a learned ``alpha``.

    Weights: ``alpha`` of the input's shape without the batch dim, size 1 along
    ``shared_axes`` (1-based, as in Keras), zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.PReLU()(cr.tensor([[-1.0, 2.0]]))
        tensor([[0., 2.]], grad_fn=<SubBackward>)
    """

    config_keys = ("shared_axes",)

    def __init__(self, shared_axes: int | Sequence[int] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shared_axes = ([shared_axes] if isinstance(shared_axes, int) else
                            None if shared_axes is None else list(shared_axes))

    def build(self, input_shape: Shape) -> None:
        shape = [int(s) for s in input_shape[1:]]  # type: ignore[arg-type]
        for axis in self.shared_axes or ():
            shape[axis - 1] = 1
        self.add_weight("alpha", shape, "zeros")

    def _build_shape(self, shape: Shape) -> Shape:
        return shape

    def call(self, x: Tensor) -> Tensor:
        return cr.relu(x) - self.alpha * cr.relu(-x)


class Softmax(_Elementwise):
    """Softmax along ``axis``; masked-out positions (mask False) get probability 0
    (``masked_softmax``).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Softmax()(cr.tensor([[1.0, 2.0, 3.0]]))
        tensor([[0.0900, 0.2447, 0.6652]])
    """

    config_keys = ("axis",)

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return masked_softmax(x, mask, self.axis)


def masked_softmax(x: Tensor, mask: Tensor | None, axis: int | Sequence[int] = -1) -> Tensor:
    """Softmax along ``axis`` where masked-out scores (mask False) count as −1e9 and come out
    as exactly 0, also when a whole row is masked (Keras's rule)."""
    if mask is not None:
        mask = mask.bool()
        x = cr.where(mask, x, -1e9)
    if isinstance(axis, int):
        out = cr.softmax(x, dim=axis)
    else:
        e = (x - x.amax(dim=tuple(axis), keepdim=True).detach()).exp()
        out = e / e.sum(dim=tuple(axis), keepdim=True)
    return out if mask is None else cr.where(mask, out, 0.0)


__all__ = ["ELU", "Activation", "LeakyReLU", "PReLU", "ReLU", "Softmax"]
