"""``keras.Model``: a layer made of layers, with Keras's model API (``layers``, ``get_layer``,
weights, ``save``, ``summary``) and training (``compile`` / ``fit``, from ``keras.trainer``).

``keras.Model(inputs, outputs)`` makes a functional model (``Functional``); subclass it
with ``__init__`` and ``call(self, x, training=None)`` for a model built on its first call.

A functional model runs the graph of ``Node`` s recorded when layers were called on
``KerasTensor`` s (see ``keras.symbolic``), kept in dependency order and replayed on real
tensors: each node's layer is called on the tensors its arguments stand for. A layer called
several times (a shared layer) has several nodes and one set of weights; a model used as a layer
is one node.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras import activations
from chainrule.keras.data_adapter import to_tensor
from chainrule.keras.data_adapter import to_tensor as _tensor
from chainrule.keras.layers import InputLayer, Layer, _snake, _unique_name
from chainrule.keras.serialization import from_config, layer_entry, register_model, serialize
from chainrule.keras.summary import print_summary
from chainrule.keras.symbolic import KerasTensor, Node, flatten, map_structure
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

    # get_weights / set_weights: Layer's, over every layer in order, in Keras's layouts (a
    # Dense kernel (in, out), a Conv2D kernel (kh, kw, in, out)) with the moving statistics,
    # so a real Keras model's weights load as they are.

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


# ---- functional models: keras.Model(inputs, outputs) --------------------------------------------


class Functional(Model):
    """A model defined by its input and output ``KerasTensor`` s (lists and dicts allowed).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> inputs = keras.Input((3,))
        >>> outputs = layers.Dense(2)(layers.Dense(4, activation="relu")(inputs))
        >>> model = keras.Model(inputs, outputs)
        >>> isinstance(model, keras.models.Functional), model(cr.ones(5, 3)).shape
        (True, chainrule.Size([5, 2]))
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        for where, struct in (("inputs", inputs), ("outputs", outputs)):
            bad = [v for v in flatten(struct) if not isinstance(v, KerasTensor)]
            if bad:
                raise ValueError(f"keras.Model: all {where} must be KerasTensors (from "
                                 f"keras.Input or a layer call), got {bad[0]!r}")
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs: list[KerasTensor] = flatten(inputs)
        self.outputs: list[KerasTensor] = flatten(outputs)
        self._nodes = self._ordered_nodes()
        self._layer_order = self._keras_layer_order()
        seen: dict[str, Layer] = {}
        for layer in self._layer_order:   # registered in Keras's order: weights, optimizer slots
            other = seen.setdefault(layer.name, layer)
            if other is not layer:
                raise ValueError(f"keras.Model: all layer names should be unique; '{layer.name}' "
                                 f"is used by two layers")
            self.add_module(layer.name, layer)
        self.built = True
        self._output_count = len(self.outputs)

    def _ordered_nodes(self) -> list[Node]:
        """Every node the outputs depend on, each after the nodes it reads from."""
        input_ids = {id(t) for t in self.inputs}
        order: list[Node] = []
        done: set[int] = set()
        stack: list[tuple[Node, bool]] = [(_node(t), False) for t in reversed(self.outputs)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done:
                continue
            if expanded:
                done.add(id(node))
                order.append(node)
                continue
            stack.append((node, True))
            if isinstance(node.layer, InputLayer):
                if id(node.outputs) not in input_ids:
                    raise ValueError(
                        f"Graph disconnected: cannot find parent for {node.outputs!r}: it is "
                        f"not one of the model's inputs {[t.name for t in self.inputs]}")
                continue
            for t in reversed(node.input_tensors):
                stack.append((_node(t), False))
        for t in self.inputs:   # an input that no output uses still gets its InputLayer
            node = _node(t)
            if id(node) not in done:
                order.insert(0, node)
        return order

    # ---- introspection ----
    @property
    def layers(self) -> list[Layer]:
        """Every layer of the graph once, InputLayers included, in Keras's order: by depth
        from the inputs, ties in the order a walk back from the outputs first meets them."""
        return self._layer_order

    def _keras_layer_order(self) -> list[Layer]:
        input_ids = {id(t) for t in self.inputs}
        index: dict[int, int] = {}
        finished: set[int] = set()
        decreasing: list[Node] = []

        def visit(t: KerasTensor) -> None:   # Keras's _build_map_helper, iteratively
            stack: list[tuple[KerasTensor, bool]] = [(t, False)]
            while stack:
                t, done = stack.pop()
                node = _node(t)
                if done:
                    if id(node) not in finished:
                        finished.add(id(node))
                        decreasing.append(node)
                    continue
                if id(node) in finished:
                    continue
                index.setdefault(id(node.layer), len(index))
                stack.append((t, True))
                if id(t) not in input_ids:
                    stack += [(p, False) for p in reversed(node.input_tensors)]

        for t in self.outputs:
            visit(t)
        node_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        layers: dict[int, Layer] = {}
        for node in reversed(decreasing):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = node_depth[id(node)] = depth
            layers[id(node.layer)] = node.layer
            if id(node.outputs) in input_ids:
                continue
            for parent in node.parent_nodes:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
        for t in self.inputs:
            layer = _node(t).layer
            if id(layer) not in layer_depth:
                layer_depth[id(layer)], index[id(layer)], layers[id(layer)] = 0, -1, layer
        return sorted(layers.values(), key=lambda la: (-layer_depth[id(la)], index[id(la)]))

    @property
    def input_names(self) -> list[str]:
        return [_node(t).layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        return [_node(t).layer.name for t in self.outputs]

    @property
    def input_shape(self) -> Any:
        return map_structure(lambda t: t.shape, self._inputs_struct)

    # ---- config ----
    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: the layers with their calls, and the graph's ends."""
        own = {id(n) for n in self._nodes}

        def index(node: Node) -> int:
            nodes = [n for n in node.layer._inbound_nodes if id(n) in own]
            return next(i for i, n in enumerate(nodes) if n is node)

        def ref(t: KerasTensor) -> list[Any]:
            h = t._keras_history
            assert h is not None
            return [h.layer.name, index(h.layer._inbound_nodes[h.node_index]), h.tensor_index]

        def tensor(v: Any) -> Any:
            if isinstance(v, KerasTensor):
                return {"class_name": "__keras_tensor__",
                        "config": {"shape": list(v.shape), "dtype": v.dtype,
                                   "keras_history": ref(v)}}
            return v

        entries = []
        for layer in self.layers:
            entry = layer_entry(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {"args": serialize(map_structure(tensor, list(n.args))),
                 "kwargs": serialize(map_structure(tensor, n.kwargs))}
                for n in layer._inbound_nodes if id(n) in own and n.args]
            entries.append(entry)
        ends = [map_structure(ref, s) for s in (self._inputs_struct, self._outputs_struct)]
        return {"name": self.name, "trainable": self.trainable, "layers": entries,
                "input_layers": ends[0], "output_layers": ends[1]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:  # type: ignore[override]
        """Rebuild the graph: create each layer, then replay its calls once their inputs
        exist."""
        made: dict[str, Layer] = {}
        outputs: dict[tuple[str, int, int], KerasTensor] = {}
        todo = []
        for entry in config["layers"]:
            layer = from_config(entry)
            made[entry["name"]] = layer
            if isinstance(layer, InputLayer):
                outputs[(entry["name"], 0, 0)] = layer.output
            todo += [(entry["name"], i, n) for i, n in enumerate(entry["inbound_nodes"])]

        def lookup(v: Any) -> Any:
            if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
                return outputs[tuple(v["config"]["keras_history"])]
            if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and \
                    isinstance(v[1], int):   # a bare [layer, node, tensor] reference
                return outputs[tuple(v)]
            return v

        def ready(v: Any) -> bool:
            return all(tuple(x["config"]["keras_history"]) in outputs
                       for x in _tensor_refs(v))

        while todo:
            progress = False
            for item in list(todo):
                name, i, node = item
                if not ready(node):
                    continue
                args = [_resolve(a, lookup) for a in node["args"]]
                kwargs = {k: _resolve(v, lookup) for k, v in node.get("kwargs", {}).items()
                          if v is not None}   # Keras records mask=None and the like
                result = made[name](*args, **kwargs)
                for j, t in enumerate(flatten(result)):
                    outputs[(name, i, j)] = t
                todo.remove(item)
                progress = True
            if not progress:
                raise ValueError(f"model config: cannot connect the calls {todo}")

        def ends(v: Any) -> Any:
            if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str):
                return outputs[tuple(v)]
            if isinstance(v, dict):
                return {k: ends(x) for k, x in v.items()}
            return [ends(x) for x in v]

        return cls(ends(config["input_layers"]), ends(config["output_layers"]),
                   name=config.get("name"), trainable=config.get("trainable", True))

    # ---- running the graph ----
    def _flat_inputs(self, inputs: Any) -> list[Any]:
        if isinstance(inputs, dict):
            names = self.input_names if not isinstance(self._inputs_struct, dict) else None
            if names is None:
                missing = set(self._inputs_struct) - set(inputs)
                if missing:
                    raise ValueError(f"model '{self.name}': missing inputs {sorted(missing)}; "
                                     f"got {sorted(inputs)}")
                return flatten({k: inputs[k] for k in self._inputs_struct})
            missing = set(names) - set(inputs)
            if missing:
                raise ValueError(f"model '{self.name}': missing inputs {sorted(missing)}; got "
                                 f"{sorted(inputs)}")
            return [inputs[n] for n in names]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"model '{self.name}' expects {len(self.inputs)} input(s) "
                             f"{self.input_names}, but it received {len(flat)}")
        return flat

    def call(self, inputs: Any, training: bool | None = None) -> Any:  # type: ignore[override]
        return self._run(inputs, logits=False)

    def forward(self, inputs: Any, training: bool | None = None) -> Any:  # type: ignore[override]
        return self._run(inputs, logits=False)

    def _run(self, inputs: Any, logits: bool) -> Any:
        env: dict[int, Any] = {}
        for kt, value in zip(self.inputs, self._flat_inputs(inputs)):
            value = _tensor(value)
            _check_input(self, kt, value)
            env[id(kt)] = value
        pending = {id(t) for t in self.outputs} if logits else set()
        acts = self._logit_activations() if logits else []
        fused = {id(t): a for t, a in zip(self.outputs, acts) if a is not None}
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            args = map_structure(lambda v: env[id(v)] if isinstance(v, KerasTensor) else v,
                                 node.args)
            kwargs = map_structure(lambda v: env[id(v)] if isinstance(v, KerasTensor) else v,
                                   node.kwargs)
            out_kt = node.outputs
            if isinstance(out_kt, KerasTensor) and id(out_kt) in fused and id(out_kt) in pending:
                result = _pre(node.layer, *args)
            else:
                result = node.layer(*args, **kwargs)
            for kt, value in zip(node.output_tensors, flatten(result)):
                env[id(kt)] = value
        return map_structure(lambda t: env[id(t)], self._outputs_struct)

    def _logit_activations(self) -> list[str | None]:
        consumed = {id(t) for node in self._nodes for t in node.input_tensors}
        acts: list[str | None] = []
        for t in self.outputs:
            node = _node(t)
            layer = node.layer
            act = (activations.name_of(layer.activation)
                   if hasattr(layer, "call_linear") and hasattr(layer, "activation") else None)
            ok = (act in ("softmax", "sigmoid") and id(t) not in consumed
                  and len(node.output_tensors) == 1 and len(node.input_tensors) == 1
                  and not node.kwargs)
            acts.append(act if ok else None)
        return acts

    def _call_logits(self, x: Any) -> list[Tensor]:
        return flatten(self._run(x, logits=True))


def _tensor_refs(v: Any) -> list[dict[str, Any]]:
    if isinstance(v, dict):
        if v.get("class_name") == "__keras_tensor__":
            return [v]
        return [r for x in v.values() for r in _tensor_refs(x)]
    if isinstance(v, list):
        return [r for x in v for r in _tensor_refs(x)]
    return []


def _resolve(v: Any, lookup: Any) -> Any:
    if isinstance(v, dict) and v.get("class_name") == "__keras_tensor__":
        return lookup(v)
    if isinstance(v, dict):
        return {k: _resolve(x, lookup) for k, x in v.items()}
    if isinstance(v, list):
        return [_resolve(x, lookup) for x in v]
    return v


def _node(t: KerasTensor) -> Node:
    h = t._keras_history
    if h is None:
        raise ValueError(f"{t!r} was not made by keras.Input or a layer call")
    return h.layer._inbound_nodes[h.node_index]


def _check_input(model: Functional, kt: KerasTensor, value: Any) -> None:
    if not isinstance(value, Tensor):
        return
    shape = tuple(value.shape)
    if len(shape) != len(kt.shape) or any(a is not None and a != b
                                          for a, b in zip(kt.shape[1:], shape[1:])):
        raise ValueError(f"Input '{kt.name}' of model '{model.name}' is incompatible: expected "
                         f"shape {kt.shape}, got {(None, *shape[1:])}")


register_model(Functional, "Functional", "Model")
