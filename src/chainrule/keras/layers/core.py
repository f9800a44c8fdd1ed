"""Core layers: ``Dense``, ``Embedding``, ``Lambda``, ``Masking``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import nn
from chainrule.keras import activations, initializers
from chainrule.keras.layers.layer import Layer, Shape
from chainrule.tensor import Tensor


class _WithActivation(Layer):
    def __init__(self, activation: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x: Tensor) -> Tensor:
        return self.activation(self.call_linear(x))

    def call_linear(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, activation={activations.name_of(self.activation)!r}"


class Dense(_WithActivation):
    """``activation(x @ kernel + bias)`` over the last axis; wraps ``cr.nn.Linear``.

    Weights: ``linear.weight`` (units, in) — PyTorch's layout, the transpose of Keras's kernel —
    glorot_uniform; ``linear.bias`` (units,) zeros.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> dense = layers.Dense(4, activation="relu")
        >>> dense(keras.Input((3,))).shape
        (None, 4)
        >>> [w.shape for w in dense.get_weights()]
        [(3, 4), (4,)]
    """

    min_ndim = 2
    supports_masking = True
    config_keys = ("units", "activation", "use_bias")
    regularized = ("kernel", "bias")

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 **kwargs: Any) -> None:
        if not isinstance(units, int) or units <= 0:
            raise ValueError(f"Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        super().__init__(activation, **kwargs)
        self.units, self.use_bias = units, use_bias

    def build(self, input_shape: Shape) -> None:
        self.linear = nn.Linear(int(input_shape[-1]), self.units, bias=self.use_bias)
        initializers.glorot_uniform(self.linear.weight.array)
        if self.use_bias:
            initializers.zeros(self.linear.bias.array)

    def call_linear(self, x: Tensor) -> Tensor:
        return self.linear(x)

    def _keras_weights(self) -> list[tuple[Tensor, Any, Any]]:
        kernel = (self.linear.weight, (lambda a: a.T), (lambda a: a.T))
        same = (lambda a: a), (lambda a: a)
        return [kernel] + ([(self.linear.bias, *same)] if self.use_bias else [])


class Embedding(Layer):
    """Integer indices (N, T) → vectors (N, T, output_dim); wraps ``cr.nn.Embedding``.

    Weights: ``embedding.weight`` (input_dim, output_dim), U(−0.05, 0.05) as in Keras. With
    ``mask_zero=True`` index 0 is padding: the output carries the mask ``indices != 0``, which
    the recurrent layers (and any layer that ``supports_masking``) receive.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> emb = layers.Embedding(input_dim=10, output_dim=4)
        >>> emb(cr.tensor([[1, 2, 3]])).shape
        chainrule.Size([1, 3, 4])
    """

    config_keys = ("input_dim", "output_dim", "mask_zero")
    regularized = ("embeddings",)

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False,
                 **kwargs: Any) -> None:
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"Both `input_dim` and `output_dim` should be positive, "
                                 f"Received {what}={v!r}")
        super().__init__(**kwargs)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

    def build(self, input_shape: Shape) -> None:
        self.embedding = nn.Embedding(self.input_dim, self.output_dim)
        initializers.uniform(self.embedding.weight.array, 0.05)

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Tensor) -> Tensor:
        if x.dtype.kind != "i":
            x = x.long()
        return self.embedding(x)

    def compute_mask(self, inputs: Tensor, mask: Any = None) -> Tensor | None:
        return inputs != 0 if self.mask_zero else None


class Lambda(Layer):
    """Wraps a function of tensors as a layer: ``Lambda(lambda x: x ** 2)``.

    ``arguments`` are passed to ``function`` as keyword arguments. The config holds the
    function object itself, so it round-trips in memory, not through JSON.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> layers.Lambda(lambda x: x * 2)(cr.tensor([1.0, 2.0]))
        tensor([2., 4.])
    """

    config_keys = ("arguments",)

    def __init__(self, function: Callable[..., Any], output_shape: Any = None,
                 mask: Any = None, arguments: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if not callable(function):
            raise ValueError(f"Lambda: `function` must be callable. Received: "
                             f"function={function!r}")
        super().__init__(**kwargs)
        self.function, self.output_shape_arg = function, output_shape
        self.mask, self.arguments = mask, dict(arguments or {})

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(function=self.function, output_shape=self.output_shape_arg,
                      mask=self.mask)
        return config

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def call(self, x: Any) -> Any:
        return self.function(x, **self.arguments)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask


class Masking(Layer):
    """Masks the timesteps whose features all equal ``mask_value``: the output is the input
    with those steps zeroed, and carries the mask (N, T) for the layers after it.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.keras import layers
        >>> x = cr.tensor([[[1.0], [0.0], [2.0]]])
        >>> layers.Masking(mask_value=0.0)(x).shape
        chainrule.Size([1, 3, 1])
    """

    supports_masking = True
    config_keys = ("mask_value",)

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _build_shape(self, shape: Shape) -> Shape:
        return (None,) * len(shape)

    def compute_mask(self, inputs: Tensor, mask: Any = None) -> Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, x: Tensor) -> Tensor:
        keep = self.compute_mask(x)
        return x * keep.unsqueeze(-1).to(x.dtype)


__all__ = ["Dense", "Embedding", "Lambda", "Masking"]
