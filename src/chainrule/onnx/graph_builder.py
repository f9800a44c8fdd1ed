"""The ONNX graph under construction: value names for traced tensors, initializers for constants,
nodes. Converters (``chainrule.onnx.symbolic``) add nodes through it."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.backend import is_bfloat16
from chainrule.tensor import Tensor


class GraphBuilder:
    """Nodes, initializers and value names of one exported graph (``onnx`` is passed in, so this
    module imports it only through ``export``)."""

    def __init__(self, onnx: Any, opset: int, names: dict[int, str]) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.input_arrays: list[tuple[Any, str]] = []
        """The graph inputs' arrays and names (an index array may be taken from an input)."""
        self.dynamic_sizes: dict[int, list[tuple[str, int]]] = {}
        """The example's size along each dynamic input axis: the (input name, axis) pairs."""
        self._value: dict[int, str] = {}
        self._keep: list[Any] = []  # the tensors named here stay alive, so ids stay unique
        self._param_names = names
        self._used: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A value name not used yet, made from ``hint``."""
        name, k = hint, 0
        while name in self._used:
            k += 1
            name = f"{hint}_{k}"
        self._used.add(name)
        return name

    def bind(self, t: Tensor, name: str) -> None:
        """Name the traced tensor ``t`` (a graph input or an op's output)."""
        self._value[id(t)] = name
        self._keep.append(t)

    def input_of(self, arr: Any) -> str | None:
        """The graph input whose array ``arr`` is (or views whole), else None."""
        for src, name in self.input_arrays:
            if arr is src or (arr.shape == src.shape and np.shares_memory(arr, src)):
                return name
        return None

    def has(self, t: Tensor) -> bool:
        return id(t) in self._value

    def value(self, t: Tensor) -> str:
        """The name of ``t``'s value; a tensor no traced op made becomes an initializer."""
        name = self._value.get(id(t))
        if name is None:
            arr = t.detach().numpy()
            name = (self._sized_like_input(arr) if id(t) not in self._param_names else None) or \
                self.constant(arr, self._param_names.get(id(t), "const"))
            self.bind(t, name)
        return name

    def _sized_like_input(self, arr: Any) -> str | None:
        """An all-zero constant (a recurrent layer's initial state) whose shape has exactly one
        dim equal to the example's size along a dynamic input axis, as zeros of the input's
        actual size there; None for any other constant.

        NOTE: a heuristic (the trace sees the batch size only as a number): a zero constant
        sized by something else that happens to equal the example's batch size would follow the
        batch too, so export with a batch size that no other dim of the model has.
        """
        if arr.ndim == 0 or not self.dynamic_sizes or arr.any():
            return None
        flat = arr.reshape(-1)
        hits = [i for i, d in enumerate(arr.shape) if d in self.dynamic_sizes]
        if len(hits) != 1 or len(self.dynamic_sizes[arr.shape[hits[0]]]) != 1:
            return None
        (src, axis), = self.dynamic_sizes[arr.shape[hits[0]]]
        size = self.node("Gather", [self.node("Shape", [src]), self.ints([axis], "axis")],
                         axis=0)
        dims = [size if i == hits[0] else self.ints([d]) for i, d in enumerate(arr.shape)]
        return self.node("Expand", [self.constant(flat[:1].reshape(()), "fill"),
                                    self.node("Concat", dims, axis=0)])

    def constant(self, array: Any, hint: str = "const") -> str:
        """An initializer holding ``array``; returns its name."""
        arr = np.asarray(array)
        if is_bfloat16(arr.dtype):
            raise ValueError("onnx.export: bfloat16 constants are not supported; export the "
                             "model in float32 (model.float())")
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values: Any, hint: str = "shape") -> str:
        """An int64 1-D initializer (shapes, axes, slice bounds)."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def node(self, op_type: str, inputs: list[str], hint: str | None = None, n_out: int = 1,
             **attrs: Any) -> Any:
        """Add a node; returns its output name (a list of them when ``n_out > 1``)."""
        outs = [self.fresh(f"{hint or op_type}") for _ in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outs,
                                                     name=self.fresh(f"n_{op_type}"), **attrs))
        return outs[0] if n_out == 1 else outs
