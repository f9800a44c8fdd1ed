"""A traced forward pass as a TensorBoard ``GraphDef``: one node per op, grouped by module."""

from __future__ import annotations

from typing import Any

from chainrule.onnx.tracing import trace


def graph_def(model: Any, args: tuple[Any, ...]) -> Any:
    """The ``GraphDef`` protocol buffer (tensorboardX's) of ``model(*args)``'s ops: inputs and
    outputs as ``IO Node``s, parameters and buffers under their dotted names, each op under the
    module that applied it, every edge labelled with its shape."""
    from tensorboardX.proto.attr_value_pb2 import AttrValue
    from tensorboardX.proto.graph_pb2 import GraphDef
    from tensorboardX.proto.node_def_pb2 import NodeDef
    from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboardX.proto.versions_pb2 import VersionDef

    tr = trace(model, args, "add_graph")
    nodes: list[Any] = []
    node_of: dict[int, str] = {}

    def shape_attr(t: Any) -> dict[str, Any]:
        dims = [TensorShapeProto.Dim(size=int(d)) for d in t.shape]
        return {"_output_shapes": AttrValue(list=AttrValue.ListValue(
            shape=[TensorShapeProto(dim=dims)])), "dtype": AttrValue(s=str(t.dtype).encode())}

    def add(name: str, op: str, inputs: list[str], t: Any) -> str:
        nodes.append(NodeDef(name=name, op=op, input=inputs, attr=shape_attr(t)))
        node_of[id(t)] = name
        return name

    for i, t in enumerate(tr.inputs):
        add(f"input/input.{i}", "IO Node", [], t)

    def source(t: Any) -> str:
        name = node_of.get(id(t))
        if name is None:
            named = tr.names.get(id(t))
            if named is not None:
                name = add(named.replace(".", "/"), "Parameter", [], t)
            else:
                name = add(f"constant.{len(nodes)}", "Constant", [], t)
        return name

    for k, step in enumerate(tr.ops):
        ins = [source(t) for t in step.inputs]
        scope = step.scope.replace(".", "/")
        name = f"{scope}/{step.op.name}_{k}" if scope else f"{step.op.name}_{k}"
        add(name, step.op.name, ins, step.output)
    for i, t in enumerate(tr.outputs):
        nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node", input=[source(t)],
                             attr=shape_attr(t)))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
