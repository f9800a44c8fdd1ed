"""``keras.utils.plot_model`` / ``model_to_dot``: a functional or sequential model's layer
graph as Graphviz DOT, one box per layer, one arrow per tensor passed between layers.

The DOT text needs nothing; rendering it to an image needs the optional ``graphviz`` package
(``pip install "chainrule[viz]"``) and Graphviz's ``dot`` binary.
"""

from __future__ import annotations

import os
from typing import Any

from chainrule.keras import activations
from chainrule.keras.layers import Layer, _fmt_shape
from chainrule.keras.summary import _shape_of


def _shape(t: Any) -> str:
    return _fmt_shape(t.shape)


def _edges(model: Any) -> tuple[list[Layer], list[tuple[Layer, Layer, str]]]:
    if hasattr(model, "_nodes"):
        edges = [(t._keras_history.layer, node.layer, _shape(t))
                 for node in model._nodes for t in node.input_tensors]
        return list(model.layers), edges
    if hasattr(model, "layers_list"):
        chain = list(model.layers_list)
        edges = [(a, b, _fmt_shape(a.output_shape) if a.output_shape else "?")
                 for a, b in zip(chain, chain[1:])]
        return chain, edges
    raise ValueError(f"plot_model: '{model.name}' is a subclassed model: its graph is its Python "
                     f"call(); only functional and Sequential models can be plotted")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200,
                 show_layer_activations: bool = False, show_trainable: bool = False) -> str:
    """The DOT source of the model's layer graph (see ``plot_model`` for the options)."""
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if expand_nested:
        raise ValueError("plot_model: expand_nested=True is not supported")
    layers, edges = _edges(model)
    lines = [f'digraph "{_escape(model.name)}" {{', f"  rankdir={rankdir};",
             f"  dpi={dpi};", '  node [shape=record, fontname="Helvetica"];']
    for layer in layers:
        kind = type(layer).__name__
        title = f"{layer.name} ({kind})" if show_layer_names else kind
        parts = [title]
        if show_layer_activations and hasattr(layer, "activation"):
            parts.append(f"activation: {activations.name_of(layer.activation)}")
        if show_shapes:
            parts.append(f"output shape: {_shape_of(layer)}")
        if show_dtype:
            parts.append(f"dtype: {getattr(layer, 'dtype', 'float32')}")
        if show_trainable:
            parts.append(f"trainable: {layer.trainable}")
        label = "|".join(_escape(p).replace("|", "\\|").replace("{", "\\{").replace("}", "\\}")
                         .replace("<", "\\<").replace(">", "\\>") for p in parts)
        lines.append(f'  "{id(layer)}" [label="{{{label}}}"];')
    for src, dst, shape in edges:
        lines.append(f'  "{id(src)}" -> "{id(dst)}"'
                     + (f' [label="{_escape(shape)}"]' if show_shapes else "") + ";")
    lines.append("}")
    return "\n".join(lines)


def plot_model(model: Any, to_file: str | os.PathLike[str] = "model.png",
               show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = True, rankdir: str = "TB", expand_nested: bool = False,
               dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False) -> Any:
    """Draw the model's layer graph into ``to_file`` (format from its extension: png, svg,
    pdf, ...; ``.dot`` writes the DOT text itself). Returns a ``graphviz.Source``.

    Args:
        show_shapes: label boxes and arrows with output shapes.
        show_layer_names: put each layer's name before its class name.
        rankdir: 'TB' (top to bottom) or 'LR' (left to right).
        show_layer_activations: add the activation of layers that have one.
        show_dtype / show_trainable: add the dtype / whether the layer trains.
    """
    from chainrule.viz.graph import _graphviz
    source = model_to_dot(model, show_shapes, show_dtype, show_layer_names, rankdir,
                          expand_nested, dpi, show_layer_activations, show_trainable)
    path = os.fspath(to_file)
    stem, ext = os.path.splitext(path)
    if ext.lower() == ".dot":
        with open(path, "w") as f:
            f.write(source)
    graph = _graphviz().Source(source)
    if ext.lower() != ".dot":
        with open(path, "wb") as f:
            f.write(graph.pipe(format=ext.lstrip(".").lower() or "png"))
    return graph
