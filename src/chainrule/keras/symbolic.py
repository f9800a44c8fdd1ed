"""Symbolic tensors of the functional API: ``KerasTensor`` and the graph ``Node`` behind it.

``keras.Input(shape)`` returns a ``KerasTensor``: a shape and dtype with no values, remembering
the layer call that produced it (``_keras_history``). Calling a layer on KerasTensors records a
``Node`` (the layer, its arguments, its outputs) and returns new KerasTensors; the layer learns
its output shape — and builds its weights — by running once on a small batch of zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

import chainrule as cr
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.keras.layers import Layer

Shape = tuple[int | None, ...]


class KerasHistory(NamedTuple):
    layer: Layer
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: ``shape`` (``None`` for the batch and any unknown dimension),
    ``dtype``, and the layer call that made it.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> x = keras.Input(shape=(3,))
        >>> isinstance(x, keras.KerasTensor), x.shape
        (True, (None, 3))
    """

    def __init__(self, shape: Shape, dtype: str = "float32", name: str | None = None) -> None:
        self.shape: Shape = tuple(shape)
        self.dtype = str(np.dtype(dtype))
        self.name = name
        self._keras_history: KerasHistory | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return (f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse=False, "
                f"name={self.name}>")

    def __bool__(self) -> bool:
        raise TypeError("A KerasTensor is symbolic: it has no value to test. Call a layer on it "
                        "or build a keras.Model from it")

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(f"A KerasTensor cannot be converted to a NumPy array: {self!r}. Use it "
                        f"as the input of layers and keras.Model(inputs, outputs)")


class Node:
    """One call of ``layer``: the (nested) arguments it was called with and what it returned."""

    def __init__(self, layer: Layer, args: tuple[Any, ...], kwargs: dict[str, Any],
                 outputs: Any) -> None:
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs
        self.input_tensors = flatten((args, kwargs))
        self.output_tensors = flatten(outputs)

    @property
    def parent_nodes(self) -> list[Node]:
        return [_node_of(t) for t in self.input_tensors]


def _node_of(t: KerasTensor) -> Node:
    h = t._keras_history
    assert h is not None, "every KerasTensor comes from keras.Input or a layer call"
    return h.layer._inbound_nodes[h.node_index]


# ---- nested structures (tensors inside lists, tuples and dicts) ----

def flatten(struct: Any) -> list[Any]:
    """The leaves of nested lists / tuples / dicts (dicts in key order), left to right."""
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in flatten(s)]
    if isinstance(struct, dict):
        return [leaf for k in sorted(struct) for leaf in flatten(struct[k])]
    return [struct]


def map_structure(fn: Callable[[Any], Any], struct: Any) -> Any:
    """``struct`` with every leaf replaced by ``fn(leaf)``."""
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_structure(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    return fn(struct)


def any_symbolic(struct: Any) -> bool:
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(struct))


# ---- calling a layer on KerasTensors ----

def _dummy(t: KerasTensor, unknown: int) -> Tensor:
    shape = tuple(unknown if s is None else s for s in t.shape)
    return cr.from_numpy(np.zeros(shape, dtype=t.dtype))


def _run(layer: Layer, args: tuple[Any, ...], kwargs: dict[str, Any], unknown: int) -> Any:
    def concrete(v: Any) -> Any:
        return _dummy(v, unknown) if isinstance(v, KerasTensor) else v
    from chainrule.nn.modules.module import Module
    return Module.__call__(layer, *map_structure(concrete, args),
                           **map_structure(concrete, kwargs))


def call_symbolic(layer: Layer, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Record ``layer(*args, **kwargs)`` on KerasTensors; return the output KerasTensors.

    The layer runs in inference mode without gradients on zeros: once with every unknown
    dimension set to 1 (this also builds it), and when the inputs have unknown dimensions besides
    the batch, once more with 2, so that output dimensions that follow them stay unknown.
    """
    was_training = layer.training
    layer.eval()
    try:
        with cr.no_grad():
            out = _run(layer, args, kwargs, 1)
            free = any(None in t.shape[1:] for t in flatten((args, kwargs))
                       if isinstance(t, KerasTensor))
            out2 = _run(layer, args, kwargs, 2) if free else out
    finally:
        layer.train(was_training)
    nodes = layer.__dict__.setdefault("_inbound_nodes", [])
    index = len(nodes)
    counter = iter(range(len(flatten(out))))

    def symbolic(pair: _Pair) -> KerasTensor:
        a, b = pair.first, pair.second
        if not isinstance(a, Tensor):
            raise TypeError(f"layer '{layer.name}' ({type(layer).__name__}) returned "
                            f"{type(a).__name__}, not a tensor")
        shape = (None, *(s if s == t else None for s, t in zip(a.shape[1:], b.shape[1:])))
        kt = KerasTensor(shape, str(a.dtype), name=layer.name)
        kt._keras_history = KerasHistory(layer, index, next(counter))
        return kt

    outputs = map_structure(symbolic, _zip(out, out2))
    nodes.append(Node(layer, args, kwargs, outputs))
    return outputs


def _zip(a: Any, b: Any) -> Any:
    if isinstance(a, (list, tuple)):
        return type(a)(_zip(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _zip(a[k], b[k]) for k in a}
    return _Pair(a, b)


class _Pair:
    """The same output from the two probe runs (a leaf, unlike a tuple)."""

    __slots__ = ("first", "second")

    def __init__(self, first: Any, second: Any) -> None:
        self.first, self.second = first, second
