"""``keras.Input`` and ``InputLayer``: where a functional graph starts.

``Input(shape)`` makes an ``InputLayer`` and returns its ``KerasTensor`` (``InputLayer.output``);
a ``Sequential`` may also start with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.keras.layers.layer import Layer
from chainrule.keras.symbolic import KerasHistory, KerasTensor, Node
from chainrule.tensor import Tensor


class InputLayer(Layer):
    """The entry of a functional graph: ``output`` is its ``KerasTensor``; ``Input`` makes one.

    Args:
        shape: the shape of one sample (without the batch dim).
        batch_size: a fixed batch size, or None.
        dtype: the dtype of the input, ``"float32"`` by default (``"int64"`` for token ids).
        batch_shape: ``(batch_size, *shape)`` in one tuple, instead of both.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([layers.InputLayer(shape=(3,)), layers.Dense(2)])
        >>> model.output_shape
        (None, 2)
    """

    def __init__(self, shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 dtype: Any = None, name: str | None = None,
                 input_shape: Sequence[int | None] | None = None,
                 batch_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        kwargs.pop("sparse", None)
        if batch_shape is not None:
            batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("InputLayer: pass shape=(...) (without the batch dim)")
        super().__init__(name=name, input_shape=tuple(shape), **kwargs)
        self.dtype = "float32" if dtype is None else str(np.dtype(dtype))
        self.batch_size = batch_size
        self.output = KerasTensor((batch_size, *shape), self.dtype, name=self.name)
        self.output._keras_history = KerasHistory(self, 0, 0)
        self._inbound_nodes = [Node(self, (), {}, self.output)]
        self.built = True

    def call(self, x: Tensor) -> Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": [self.batch_size, *(self.input_shape_arg or ())],
                "dtype": self.dtype, "sparse": False, "name": self.name}


def Input(shape: Sequence[int | None] | None = None, batch_size: int | None = None,  # noqa: N802
          dtype: Any = None, sparse: bool | None = None,
          batch_shape: Sequence[int | None] | None = None, name: str | None = None,
          tensor: Any = None) -> KerasTensor:
    """A symbolic input: call layers on it and pass it to ``keras.Model(inputs, outputs)``,
    or start a ``Sequential`` with it.

    Example:
        >>> from chainrule import keras
        >>> x = keras.Input(shape=(3,), name="features")
        >>> x.shape
        (None, 3)
    """
    if sparse:
        raise ValueError("Input: sparse inputs are not supported")
    if tensor is not None:
        raise ValueError("Input: tensor= is not supported; call the model on the tensor instead")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output
