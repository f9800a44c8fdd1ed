"""Keras layers with state or sequence inputs: BatchNormalization, Embedding, LSTM (wrapping
``cr.nn.BatchNorm1d/2d``, ``cr.nn.Embedding``, ``cr.nn.LSTM``)."""

from __future__ import annotations

from typing import Any

from chainrule import nn
from chainrule.keras import initializers
from chainrule.keras.layers import Layer, Shape
from chainrule.tensor import Tensor


class BatchNormalization(Layer):
    """Batch normalisation over the last axis; wraps ``cr.nn.BatchNorm1d/2d``.

    Keras's ``momentum=0.99`` (weight of the old moving value) is PyTorch's ``momentum=0.01``.
    """

    min_ndim = 2

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis != -1:
            raise ValueError(f"BatchNormalization: only axis=-1 is supported, got {axis}")
        if not center or not scale:
            raise ValueError("BatchNormalization: center=False / scale=False are not supported")
        self.momentum, self.epsilon = momentum, epsilon

    def build(self, input_shape: Shape) -> None:
        cls = nn.BatchNorm2d if len(input_shape) == 4 else nn.BatchNorm1d
        self.bn = cls(int(input_shape[-1]), eps=self.epsilon, momentum=1.0 - self.momentum)

    def call(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            return self.bn(x)
        perm = (0, x.ndim - 1, *range(1, x.ndim - 1))
        back = (0, *range(2, x.ndim), 1)
        y = x.permute(*perm)
        if x.ndim == 3:
            y = self.bn(y)
        else:
            y = self.bn(y if x.ndim == 4 else y.reshape(y.shape[0], y.shape[1], -1, 1))
            y = y.reshape(x.shape[0], x.shape[-1], *x.shape[1:-1])
        return y.permute(*back)


class Embedding(Layer):
    """Integer indices (N, T) → vectors (N, T, output_dim); wraps ``cr.nn.Embedding``, weights
    U(−0.05, 0.05) as in Keras."""

    def __init__(self, input_dim: int, output_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim

    def build(self, input_shape: Shape) -> None:
        self.embedding = nn.Embedding(self.input_dim, self.output_dim)
        initializers.uniform(self.embedding.weight.data, 0.05)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor) -> Tensor:
        if x.dtype.kind != "i":
            x = x.long()
        return self.embedding(x)


class LSTM(Layer):
    """An LSTM over (N, T, C) inputs; wraps ``cr.nn.LSTM(batch_first=True)`` (same gate order
    i, f, g, o as Keras).

    Keras's init: glorot_uniform input kernel, orthogonal recurrent kernel, zero bias with the
    forget gate's bias set to 1. Keras has one bias vector where PyTorch has two; the second
    (``bias_hh_l0``) is held at zero and frozen, so the parameter count matches Keras's.
    Returns the last hidden state (N, units), or all of them (N, T, units) with
    ``return_sequences=True``.
    """

    input_ndim = 3

    def __init__(self, units: int, return_sequences: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units, self.return_sequences = units, return_sequences

    def build(self, input_shape: Shape) -> None:
        h = self.units
        self.lstm = nn.LSTM(int(input_shape[-1]), h, batch_first=True)
        w_ih, w_hh = self.lstm.weight_ih_l0.data, self.lstm.weight_hh_l0.data
        for g in range(4):
            initializers.glorot_uniform(w_ih[g * h:(g + 1) * h])
            initializers.orthogonal(w_hh[g * h:(g + 1) * h])
        b = self.lstm.bias_ih_l0.data
        b[...] = 0
        b[h:2 * h] = 1.0
        self.lstm.bias_hh_l0.data[...] = 0
        self.lstm.bias_hh_l0.requires_grad_(False)

    def count_params(self) -> tuple[int, int]:
        trainable, _ = super().count_params()
        return trainable, 0

    def call(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(x)
        return out if self.return_sequences else out[:, -1]
