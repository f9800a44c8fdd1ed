"""``chainrule.onnx.export``: a model as an ONNX file, through the ``onnx`` package.

The model is traced (``chainrule.onnx.tracing``): it runs once on the example inputs and every
primitive op it applies is recorded, then each op becomes ONNX nodes (``symbolic``). Parameters,
buffers and other constants become initializers. Python control flow is frozen at the example's
values; shapes are the example's except along ``dynamic_axes`` (reshapes keep unchanged dims
and infer one, so a batch dimension stays free).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from chainrule.onnx.graph_builder import GraphBuilder
from chainrule.onnx.symbolic import SYMBOLICS
from chainrule.onnx.tracing import trace
from chainrule.tensor import Tensor

DEFAULT_OPSET = 17


def _load_onnx() -> Any:
    try:
        import onnx.numpy_helper  # binds onnx, with the submodule the builder uses
    except ImportError:
        raise ImportError("chainrule.onnx.export needs the onnx package: "
                          "pip install 'chainrule[onnx]' (or pip install onnx)") from None
    return onnx


def export(model: Any, args: Any, f: str | os.PathLike[str] | Any,
           export_params: bool = True, verbose: bool = False,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           opset_version: int | None = None,
           dynamic_axes: Mapping[str, Mapping[int, str] | Sequence[int]] | None = None,
           do_constant_folding: bool = True, dynamo: bool = False) -> None:
    """Export ``model`` run on ``args`` as an ONNX model, as ``torch.onnx.export``.

    The model runs in eval mode (dropout off, batch norm on its running statistics).

    Args:
        model: a Module (or any callable of tensors).
        args: the example input: a tensor or a tuple of them.
        f: the path (or a writable binary file) to write.
        export_params: accepted for PyTorch compatibility; weights are always stored.
        verbose: print the graph.
        input_names: names of the graph inputs, in order (``input``, ``input.1``, ... unnamed).
        output_names: names of the graph outputs (``output``, ``output.1``, ...).
        opset_version: the ONNX opset, 13 to 21 (default 17).
        dynamic_axes: for an input or output name, the axes whose size may vary, as a list of
            axes or a ``{axis: name}`` dict.
        do_constant_folding: accepted for PyTorch compatibility (constants are not folded).
        dynamo: accepted for PyTorch compatibility: chainrule has one exporter, a trace like
            PyTorch's ``dynamo=False`` one.

    Example:
        >>> import tempfile, os, chainrule as cr
        >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
        >>> cr.onnx.export(cr.nn.Linear(3, 2), cr.randn(1, 3), path, input_names=["x"],
        ...                dynamic_axes={"x": {0: "batch"}})
    """
    onnx = _load_onnx()
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not 13 <= opset <= 21:
        raise ValueError(f"onnx.export: opset_version must be between 13 and 21, got {opset}")
    args = args if isinstance(args, tuple) else (args,)
    if not all(isinstance(a, Tensor) for a in args):
        raise TypeError("onnx.export: args must be a tensor or a tuple of tensors, got "
                        f"{[type(a).__name__ for a in args]}")
    tr = trace(model, args, "onnx.export")
    in_names = _names(input_names, len(tr.inputs), "input", "input_names")
    out_names = _names(output_names, len(tr.outputs), "output", "output_names")
    dynamic = _dynamic(dynamic_axes or {}, set(in_names) | set(out_names))
    g = GraphBuilder(onnx, opset, tr.names)
    inputs = []
    for t, name in zip(tr.inputs, in_names):
        g.fresh(name)
        g.bind(t, name)
        g.input_arrays.append((t.detach().numpy(), name))
        for axis in dynamic.get(name, {}):
            g.dynamic_sizes.setdefault(t.shape[axis], []).append((name, axis))
        inputs.append(_value_info(onnx, name, t, dynamic.get(name, {})))
    for step in tr.ops:
        convert = SYMBOLICS.get(step.op.name)
        if convert is None:
            raise NotImplementedError(f"onnx.export: the op {step.op.name!r} (in module "
                                      f"{step.scope or 'the model'!r}) has no ONNX conversion")
        g.bind(step.output, convert(g, step.op, list(step.inputs), step.output))
    outputs = []
    for t, name in zip(tr.outputs, out_names):
        g.fresh(name)
        g.nodes.append(onnx.helper.make_node("Identity", [g.value(t)], [name]))
        outputs.append(_value_info(onnx, name, t, dynamic.get(name, {}), bool(dynamic)))
    graph = onnx.helper.make_graph(g.nodes, type(model).__name__, inputs, outputs,
                                   g.initializers)
    proto = onnx.helper.make_model(graph, producer_name="chainrule",
                                   opset_imports=[onnx.helper.make_opsetid("", opset)])
    proto.ir_version = min(proto.ir_version, 9)  # readable by ONNX Runtime releases of 2023 on
    onnx.checker.check_model(proto)
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    if hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        onnx.save(proto, os.fspath(f))


def _names(given: Sequence[str] | None, n: int, stem: str, what: str) -> list[str]:
    names = list(given or [])
    if len(names) > n:
        raise ValueError(f"onnx.export: {len(names)} {what} given for {n} {stem}s: {names}")
    return names + [stem if i == 0 else f"{stem}.{i}" for i in range(len(names), n)]


def _dynamic(spec: Mapping[str, Any], known: set[str]) -> dict[str, dict[int, str]]:
    out = {}
    for name, axes in spec.items():
        if name not in known:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is not an input "
                             f"or output name ({sorted(known)})")
        if isinstance(axes, Mapping):
            out[name] = {int(a): str(v) for a, v in axes.items()}
        else:
            out[name] = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(axes)}
    return out


def _value_info(onnx: Any, name: str, t: Tensor, dynamic: dict[int, str],
                free: bool = False) -> Any:
    """A graph input or output; with ``free`` the dims not named dynamic are left unknown (an
    output's size may follow a dynamic input's)."""
    elem = onnx.helper.np_dtype_to_tensor_dtype(t.detach().numpy().dtype)
    shape = [dynamic.get(i, None if free else d) for i, d in enumerate(t.shape)]
    return onnx.helper.make_tensor_value_info(name, elem, shape)
