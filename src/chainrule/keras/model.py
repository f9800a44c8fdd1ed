"""``keras.Model``: a layer made of layers, with Keras's model API (``layers``, ``get_layer``,
weights, ``save``, ``summary``) and training (``compile`` / ``fit``, from ``keras.trainer``).

``keras.Model(inputs, outputs)`` makes a functional model (``keras.functional``); subclass it
with ``__init__`` and ``call(self, x, training=None)`` for a model built on its first call.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras import activations
from chainrule.keras.data_adapter import to_tensor
from chainrule.keras.layers import Layer, _snake, _unique_name
from chainrule.keras.summary import print_summary
from chainrule.keras.symbolic import flatten, map_structure
from chainrule.keras.trainer import Trainer
from chainrule.tensor import Tensor
from chainrule.train import History


class Variable:
    """A model weight as Keras presents it: ``value`` is the chainrule ``Parameter``.

    ``value.grad`` is the gradient after ``loss.backward()``; ``numpy()`` copies the values and
    ``assign(array)`` overwrites them.
    """

    def __init__(self, value: Tensor, path: str) -> None:
        self.value, self.path = value, path
        self.name = path.rsplit(".", 1)[-1]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def trainable(self) -> bool:
        return bool(self.value.requires_grad)

    def numpy(self) -> np.ndarray:
        return np.array(self.value.array, copy=True)

    def assign(self, value: Any) -> None:
        self.value.array[...] = np.asarray(getattr(value, "array", value))

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}>"



class Model(Trainer, Layer):
    """A Keras model: ``Model(inputs, outputs)`` (functional) or a subclass with ``call``.

    Example:
        >>> from chainrule import keras
        >>> inputs = keras.Input(shape=(3,))
        >>> outputs = keras.layers.Dense(2)(inputs)
        >>> model = keras.Model(inputs=inputs, outputs=outputs)
        >>> model.count_params()
        8
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        from chainrule.keras.functional import Functional
        graph_args = len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs
        if graph_args and not issubclass(cls, Functional) and (cls is Model or
                                                               "__init__" not in vars(cls)):
            # Model(inputs, outputs), or a subclass that overrides only steps (a custom
            # train_step) called the same way: a functional model of that subclass, as in Keras
            target = Functional if cls is Model else _functional_subclass(cls)
            return target.__new__(target, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)  # type: ignore[return-value]

    def __init__(self, *args: Any, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {args} {sorted(kwargs)}"
                            f"; keras.Model takes inputs=, outputs= or, when subclassed, name=")
        super().__init__(name=name or _unique_name(_snake(type(self).__name__)),
                         trainable=trainable)
        self.stop_training = False
        self.history: History | None = None
        self.optimizer: Any = None
        self.compiled = False
        self._bound = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:  # type: ignore[override]
        """A functional model from its config (``get_config``); subclasses override this."""
        if "input_layers" in config:
            from chainrule.keras.functional import Functional
            return Functional.from_config(config)
        return super().from_config(config)  # type: ignore[return-value]

    # ---- calling ----
    def forward(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        args = map_structure(to_tensor, args)
        if "training" in inspect.signature(self.call).parameters:
            kwargs.setdefault("training", self.training)
        out = self.call(*args, **kwargs)
        self.built = True
        leaves = flatten(out)
        self._output_count = len(leaves)
        if len(leaves) == 1 and isinstance(leaves[0], Tensor):
            self.output_shape = (None, *leaves[0].shape[1:])
        return out

    def build(self, input_shape: Any) -> None:
        """Create the weights by calling the model once on zeros of ``input_shape``."""
        def zeros(shape: Any) -> Tensor:
            return cr.zeros(*(1 if s is None else s for s in shape))
        shapes = input_shape
        x = ([zeros(s) for s in shapes] if isinstance(shapes, list) else zeros(shapes))
        self._probe(x)

    def _probe(self, x: Any) -> None:
        was = self.training
        self.eval()
        try:
            with cr.no_grad():
                self(x)
        finally:
            self.train(was)
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` of ``layers``."""
        if index is not None:
            if name is not None:
                raise ValueError("get_layer: pass name or index, not both")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for a model with "
                                 f"{len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[la.name for la in self.layers]}.")

    # ---- weights ----
    def _variables(self, trainable: bool | None = None) -> list[Variable]:
        return [Variable(p, n) for n, p in self.named_parameters()
                if trainable is None or bool(p.requires_grad) == trainable]

    @property
    def weights(self) -> list[Variable]:
        return self._variables()

    @property
    def trainable_weights(self) -> list[Variable]:
        return self._variables(True)

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self._variables(False)

    trainable_variables = trainable_weights

    def count_params(self) -> int:  # type: ignore[override]
        return sum(self._param_counts())

    def _param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) over the layers, nested models included."""
        counts = [la._param_counts() for la in self.layers]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def get_weights(self) -> list[np.ndarray]:
        return [np.array(p.array, copy=True) for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        params = list(self.parameters())
        if len(params) != len(weights):
            raise ValueError(f"set_weights: the model has {len(params)} weight arrays, got "
                             f"{len(weights)}")
        for p, w in zip(params, weights):
            if tuple(p.shape) != tuple(np.shape(w)):
                raise ValueError(f"set_weights: shape {tuple(np.shape(w))} does not match the "
                                 f"weight's shape {tuple(p.shape)}")
            p.array[...] = w

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """Keras's ``.weights.h5`` file (needs ``h5py``); any other name gets the state dict
        (``chainrule.save``)."""
        from chainrule.keras import saving
        saving.save_weights(self, os.fspath(filepath))

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        from chainrule.keras import saving
        saving.load_weights(self, os.fspath(filepath))

    def save(self, filepath: str | os.PathLike[str]) -> None:
        """The whole model — config, weights, optimizer state — as a Keras 3 ``.keras`` archive.

        Any other file name gets the state dict (``save_weights``), as before archives existed.
        """
        from chainrule.keras import saving
        path = os.fspath(filepath)
        if path.endswith(".keras"):
            saving.save_model(self, path)
        else:
            saving.save_weights(self, path)


    def summary(self, print_fn: Callable[[str], Any] = print, line_length: int = 65) -> None:
        """Print Keras's table: layer (type), output shape, param #, then the totals."""
        print_summary(self, print_fn, line_length)


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _functional_subclass(cls: type) -> type:
    """``cls`` with ``Functional`` mixed in (once per class), keeping its name."""
    from chainrule.keras.functional import Functional
    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def _pre(layer: Layer, x: Tensor) -> Tensor:
    """Run ``layer`` without its activation, through its own input checks and lazy build."""
    act = layer.activation
    layer.activation = activations.linear
    try:
        out = layer(x)
    finally:
        layer.activation = act
    return out
