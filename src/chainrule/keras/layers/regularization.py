"""``Dropout``: zero inputs with probability ``rate`` while training."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import random as _random
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.nn import functional as F
from chainrule.tensor import Tensor


class Dropout(Layer):
    """Zero inputs with probability ``rate`` while training (the rest scaled by 1/(1−rate));
    ``noise_shape`` (1 on the axes where one draw is shared) as in Keras; a ``seed`` gives the
    layer a random stream of its own.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> drop = layers.Dropout(0.5)
        >>> drop(cr.ones(4), training=False)
        tensor([1., 1., 1., 1.])
        >>> sorted(set(drop(cr.ones(1000), training=True).tolist()))
        [0.0, 2.0]
    """

    supports_masking = True
    config_keys = ("rate", "noise_shape", "seed")

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None,
                 seed: int | None = None, **kwargs: Any) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate}")
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed
        self._generator = None if seed is None else _random.Generator(seed)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        if not training or self.rate == 0:
            return x
        if self.noise_shape is None:
            return F.dropout(x, self.rate, True, generator=self._generator)
        shape = [x.shape[i] if s is None else s for i, s in enumerate(self.noise_shape)]
        keep = F.dropout(x.new_ones(*shape), self.rate, True, generator=self._generator)
        return x * keep
