"""``model.summary()``: Keras's table of layers, output shapes and parameter counts.

Functional models whose graph is not a plain chain get Keras's fourth column, "Connected to":
the inputs of each layer call as ``layer_name[node][tensor]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule.keras.layers import InputLayer, Layer, _fmt_shape


def _shape_of(layer: Layer) -> str:
    nodes = layer.__dict__.get("_inbound_nodes") or []
    if nodes:
        from chainrule.keras.symbolic import flatten
        shapes = [t.shape for t in flatten(nodes[0].outputs)]
        return _fmt_shape(shapes[0]) if len(shapes) == 1 else \
            "[" + ", ".join(_fmt_shape(s) for s in shapes) + "]"
    return _fmt_shape(layer.output_shape) if layer.output_shape else "?"


def _connections(model: Any, layer: Layer) -> list[str]:
    own = {id(n) for n in model._nodes}
    out = []
    for node in layer.__dict__.get("_inbound_nodes", []):
        if id(node) not in own:
            continue
        for t in node.input_tensors:
            h = t._keras_history
            out.append(f"{h.layer.name}[{h.node_index}][{h.tensor_index}]")
    return out


def _chain_like(model: Any) -> bool:
    """A functional graph that is a plain chain: one input, one output, one call per layer."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        return False
    return all(len(node.input_tensors) <= 1 for node in model._nodes) and \
        len(model._nodes) == len({id(n.layer) for n in model._nodes})


def print_summary(model: Any, print_fn: Callable[[str], Any] = print,
                  line_length: int = 65) -> None:
    if not model.built:
        raise ValueError(f"Model '{model.name}' has not been built yet: give the first layer "
                         f"input_shape=..., start with Input(shape), or call it on data")
    functional = hasattr(model, "_nodes")
    layers = model.layers if functional else [la for la in model.layers
                                              if not isinstance(la, InputLayer)]
    connected = functional and not _chain_like(model)
    rows = []
    for la in layers:
        t, f = la._param_counts()
        rows.append((f"{la.name} ({type(la).__name__})", _shape_of(la), t + f,
                     _connections(model, la) if connected else []))
    w = [max(29, max((len(r[0]) for r in rows), default=0) + 3),
         max(26, max((len(r[1]) for r in rows), default=0) + 2), 10]
    if connected:
        w.append(max(20, max((len(c) for r in rows for c in r[3]), default=0) + 2))
    line_length = max(line_length, sum(w))
    header = f" {'Layer (type)':<{w[0] - 1}}{'Output Shape':<{w[1]}}{'Param #':<{w[2]}}"
    if connected:
        header += "Connected to"
    lines = [f'Model: "{model.name}"', "_" * line_length, header.rstrip(), "=" * line_length]
    for i, (name, shape, n, conns) in enumerate(rows):
        first = conns[0] if conns else ("-" if connected else "")
        lines.append(f" {name:<{w[0] - 1}}{shape:<{w[1]}}{n:<{w[2]},}{first}".rstrip())
        for c in conns[1:]:
            lines.append(f" {'':<{w[0] - 1}}{'':<{w[1]}}{'':<{w[2]}}{c}")
        lines.append("=" * line_length if i == len(rows) - 1 else "")
    trainable = sum(la._param_counts()[0] for la in layers)
    frozen = sum(la._param_counts()[1] for la in layers)
    lines += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {frozen:,}", "_" * line_length]
    for line in lines:
        print_fn(line)
