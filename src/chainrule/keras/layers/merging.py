"""Merge layers: called on a list of tensors — ``Add``, ``Subtract``, ``Multiply``,
``Average``, ``Maximum``, ``Minimum``, ``Concatenate``, ``Dot``.

Inputs broadcast against each other as in Keras; masks combine with a logical and.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import chainrule as cr
from chainrule.keras.layers.layer import Layer
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class _Merge(Layer):
    supports_masking = True

    def forward(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"A merge layer should be called on a list of at least 2 inputs. "
                             f"Got {len(inputs) if isinstance(inputs, (list, tuple)) else 1} "
                             f"inputs. Received: inputs={inputs}")
        return super().forward(list(inputs), *args, **kwargs)

    def build(self, input_shape: list[Any]) -> None:
        batch = {s[0] for s in input_shape if s[0] is not None}
        if len(batch) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received "
                             f"tensors with shapes {input_shape}")

    def call(self, inputs: list[Tensor]) -> Tensor:
        return functools.reduce(self._merge, inputs)

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or all(m is None for m in mask):
            return None
        kept = [m for m in mask if m is not None]
        return functools.reduce(lambda a, b: a & b, kept)


class Add(_Merge):
    """The elementwise sum of the inputs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Add()([cr.tensor([1.0, 2.0]), cr.tensor([10.0, 20.0])])
        tensor([11., 22.])
    """

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b


class Subtract(_Merge):
    """``inputs[0] − inputs[1]`` (exactly two inputs).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Subtract()([cr.tensor([5.0, 5.0]), cr.tensor([1.0, 2.0])])
        tensor([4., 3.])
    """

    def call(self, inputs: list[Tensor]) -> Tensor:
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs}")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """The elementwise product of the inputs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Multiply()([cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])])
        tensor([ 3., 10.])
    """

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b


class Average(_Merge):
    """The elementwise mean of the inputs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Average()([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 6.0])])
        tensor([2., 4.])
    """

    def call(self, inputs: list[Tensor]) -> Tensor:
        return functools.reduce(lambda a, b: a + b, inputs) / len(inputs)


class Maximum(_Merge):
    """The elementwise maximum of the inputs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Maximum()([cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])])
        tensor([3., 5.])
    """

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return cr.maximum(a, b)


class Minimum(_Merge):
    """The elementwise minimum of the inputs.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Minimum()([cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0])])
        tensor([1., 2.])
    """

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return cr.minimum(a, b)


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (their other dims must match).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.Concatenate()([keras.Input((2,)), keras.Input((3,))]).shape
        (None, 5)
    """

    config_keys = ("axis",)

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape: list[Any]) -> None:
        ranks = {len(s) for s in input_shape}
        axis = self.axis % max(ranks)
        if len(ranks) > 1 or len({s[:axis] + s[axis + 1:] for s in input_shape}) > 1:
            raise ValueError(f"A `Concatenate` layer requires inputs with matching shapes "
                             f"except for the concatenation axis. Received: input_shape="
                             f"{input_shape}")

    def call(self, inputs: list[Tensor]) -> Tensor:
        return cr.cat(inputs, dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            m = cr.ones(*x.shape, dtype=bool) if m is None else m
            while m.ndim < x.ndim:
                m = m.unsqueeze(-1)
            full.append(m.expand(*x.shape))
        return cr.cat(full, dim=self.axis).all(dim=-1)


class Dot(_Merge):
    """Batched dot products of two inputs along ``axes`` (an int, or one axis per input);
    with ``normalize=True`` the inputs are L2-normalised along those axes first (cosine
    similarity). (N, d)·(N, d) → (N, 1); (N, T, d)·(N, S, d) with axes=2 → (N, T, S).

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Dot(axes=1)([cr.tensor([[1.0, 2.0]]), cr.tensor([[3.0, 4.0]])])
        tensor([[11.]])
    """

    supports_masking = False
    config_keys = ("axes", "normalize")

    def __init__(self, axes: int | Sequence[int], normalize: bool = False,
                 **kwargs: Any) -> None:
        if not isinstance(axes, int) and (len(axes) != 2 or
                                          not all(isinstance(a, int) for a in axes)):
            raise ValueError(f"Invalid format for argument `axes`: expected an int or a list "
                             f"of 2 ints. Received: axes={axes}")
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def call(self, inputs: list[Tensor]) -> Tensor:
        if len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs}")
        a, b = inputs
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        ax = axes[0] % a.ndim, axes[1] % b.ndim
        if a.shape[ax[0]] != b.shape[ax[1]]:
            raise ValueError(f"Incompatible input shapes: axis values {a.shape[ax[0]]} (at "
                             f"axis {ax[0]}) != {b.shape[ax[1]]} (at axis {ax[1]}). Full "
                             f"input shapes: {tuple(a.shape)}, {tuple(b.shape)}")
        if self.normalize:
            a, b = F.normalize(a, dim=ax[0]), F.normalize(b, dim=ax[1])
        a = a.permute(*(d for d in range(a.ndim) if d != ax[0]), ax[0])
        b = b.permute(0, ax[1], *(d for d in range(1, b.ndim) if d != ax[1]))
        rest_a, rest_b = a.shape[1:-1], b.shape[2:]
        out = a.reshape(a.shape[0], -1, a.shape[-1]) @ b.reshape(b.shape[0], b.shape[1], -1)
        out = out.reshape(a.shape[0], *rest_a, *rest_b)
        return out.unsqueeze(1) if out.ndim == 1 else out


def add(inputs: list[Any], **kwargs: Any) -> Tensor:
    """Functional form of ``Add``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.add([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
        tensor([4., 6.])
    """
    return Add(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Tensor:
    """Functional form of ``Concatenate``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> layers.concatenate([keras.Input((2,)), keras.Input((3,))]).shape
        (None, 5)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply",
           "Subtract", "add", "concatenate"]
