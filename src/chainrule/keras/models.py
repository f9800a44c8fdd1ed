"""``keras.models``: ``Model`` (functional or subclassed), ``Sequential`` and ``load_model``.

``Sequential`` is a ``Model`` whose ``call`` runs its layers in order. When its last layer is
``Dense(..., activation='softmax')`` and the loss is (sparse) categorical cross entropy — or
sigmoid with binary cross entropy — the loss is computed from the layer's logits by one fused op
(``F.cross_entropy`` / ``F.binary_cross_entropy_with_logits``), so saturated outputs never give
NaN or inf.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import chainrule as cr
from chainrule.keras import activations
from chainrule.keras.layers import InputLayer, Layer, _unique_name
from chainrule.keras.model import Functional, Model, _pre
from chainrule.keras.saving import load_model
from chainrule.keras.serialization import from_config, layer_entry, register_model
from chainrule.keras.symbolic import KerasTensor
from chainrule.tensor import Tensor

Shape = tuple[int | None, ...]


class Sequential(Model):
    """A linear stack of Keras layers.

    Example:
        >>> from chainrule.keras import Sequential, layers
        >>> m = Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
        ...                 layers.Dense(1)])
        >>> m.count_params()
        21
    """

    def __init__(self, layers: Iterable[Layer | KerasTensor] | None = None,
                 name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name or _unique_name("sequential"), trainable=trainable)
        self.layers_list: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    # ---- construction ----
    @property
    def layers(self) -> list[Layer]:
        return [la for la in self.layers_list if not isinstance(la, InputLayer)]

    def add(self, layer: Layer | KerasTensor) -> None:
        """Append a layer (or, first, a ``keras.Input``)."""
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {layer!r}")
        self.add_module(str(len(self.layers_list)), layer)
        self.layers_list.append(layer)
        first = self.layers_list[0]
        if len(self.layers_list) == 1 and first.input_shape_arg is not None:
            self._declared = (None, *first.input_shape_arg)
            self._input_dtype = getattr(first, "dtype", None) if isinstance(first, InputLayer) \
                else None
        if getattr(self, "_declared", None) is not None and self.layers:
            self.build(self._declared)

    def build(self, input_shape: Shape) -> None:  # type: ignore[override]
        """Create all weights by running a one-sample dummy batch (eval mode, no grad)."""
        import numpy as np
        shape = tuple(1 if s is None else s for s in input_shape)
        dtype = getattr(self, "_input_dtype", None) or "float32"
        self._probe(cr.from_numpy(np.zeros(shape, dtype=dtype)))
        self.built_input_shape = (None, *input_shape[1:])

    def call(self, x: Tensor, logits: bool = False) -> Tensor:  # type: ignore[override]
        """Run the layers; with ``logits=True`` skip the last layer's activation."""
        layers = self.layers
        if not layers:
            raise ValueError(f"Sequential '{self.name}' has no layers")
        for layer in layers[:-1]:
            x = layer(x)
        last = layers[-1]
        return _pre(last, x) if logits else last(x)

    def get_config(self) -> dict[str, Any]:
        entries = []
        declared = getattr(self, "built_input_shape", None) or getattr(self, "_declared", None)
        first = self.layers_list[0] if self.layers_list else None
        if isinstance(first, InputLayer):
            entries.append(layer_entry(first))
        elif declared is not None:
            entries.append({"module": "keras.layers", "class_name": "InputLayer",
                            "config": {"batch_shape": list(declared), "dtype": "float32",
                                       "sparse": False, "name": "input_layer"},
                            "registered_name": None})
        entries += [layer_entry(la) for la in self.layers]
        return {"name": self.name, "trainable": self.trainable, "layers": entries}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:  # type: ignore[override]
        return cls([from_config(e) for e in config["layers"]], name=config.get("name"),
                   trainable=config.get("trainable", True))

    def _logit_activations(self) -> list[str | None]:
        last = self.layers[-1]
        if not hasattr(last, "call_linear"):
            return [None]
        act = activations.name_of(last.activation)
        return [act if act in ("softmax", "sigmoid") else None]

    def _call_logits(self, x: Any) -> list[Tensor]:
        if self._logit_activations()[0] is None:
            return [self(x)]
        return [self.call(x if isinstance(x, Tensor) else cr.as_tensor(x), logits=True)]

    @property
    def _fused(self) -> Any:
        """The fused loss-from-logits in use, or None."""
        from chainrule.keras import losses
        act = self._logit_activations()[0]
        return None if act is None or self.loss is None else \
            losses.from_logits(losses.get(self.loss), act)


register_model(Sequential)

__all__ = ["Functional", "Model", "Sequential", "load_model"]
