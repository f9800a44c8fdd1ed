"""Elementwise fusion for ``chainrule.compile``: consecutive elementwise instructions of a
replayed program (forward ops, and the backwards of elementwise ops) run as one generated Numba
kernel, one pass over memory instead of one per op.

An elementwise op declares its scalar formulas on its class, one place per op:

- ``scalar``: its output from its inputs, named as ``forward`` names them
  (``Tanh.scalar = "tanh(x)"``, ``Where.scalar = "a if cond else b"``);
- ``scalar_grad``: per input, the gradient from the upstream gradient ``g``, the output ``y``
  and the inputs (``Tanh.scalar_grad = ("g * (1 - y * y)",)``), ``None`` for an input
  without one.

Formulas are Python expressions over ``exp``, ``log``, ``tanh``, ``sqrt``, ``abs`` and
arithmetic. A fused forward does not run the op's ``forward``, so an op with formulas must have
a ``backward`` that reads only its inputs, its output and its parameters.

An instruction joins a kernel only when its op has the formula, its inputs have the output's
shape and dtype (float32/float64; size-1 constants and a bool condition allowed), and
its parameters are fixed; a kernel needs two or more of them. Values another instruction reads
(an input an op's backward needs, a gradient stored into a leaf, the step's result) are written
out by the kernel; the others stay in registers. Anything else replays op by op as before.
"""

from __future__ import annotations

import ast
import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.autograd.tape import BACKWARD, GRAD, OP

__all__ = ["FUSED", "Kernel", "fuse"]

FUSED = 5
"""Instruction kind: (FUSED, kernel, free)."""

MAX_NODES = 24
"""Instructions per kernel at most: Numba's compile time grows faster than linearly with a
kernel's length (a 2,000-op chain took 50 s as one kernel)."""

_FUNCS = {"exp": "math.exp", "log": "math.log", "tanh": "math.tanh", "sqrt": "math.sqrt",
          "abs": "abs"}
_compiled: dict[str, Callable[..., Any]] = {}
"""Numba kernels by source, shared by every program (same formulas compile once)."""


class Kernel:
    """A fused group: its generated kernel, where its inputs come from and where its results go.

    ``inputs`` are sources (a slot number or a source object with ``get``); ``outputs`` are
    (slots, shape, dtype): one array the kernel writes, stored into each slot; ``aliases`` are
    (slot, input index): a result that is one of the inputs unchanged (``Add``'s gradient).
    """

    __slots__ = ("fn", "source", "size", "inputs", "outputs", "aliases", "ops")

    def __init__(self, fn: Callable[..., Any], source: str, size: int, inputs: list[Any],
                 outputs: list[tuple[tuple[int, ...], tuple[int, ...], Any]],
                 aliases: list[tuple[int, int]], ops: list[str]) -> None:
        self.fn, self.source, self.size = fn, source, size
        self.inputs, self.outputs, self.aliases, self.ops = inputs, outputs, aliases, ops

    def __repr__(self) -> str:
        return f"<fused kernel: {' '.join(self.ops)}>"

    def slots(self) -> list[Any]:
        """Every slot the kernel reads or writes (for liveness)."""
        return [*self.inputs, *(s for slots, _, _ in self.outputs for s in slots),
                *(s for s, _ in self.aliases)]

    def run(self, vals: list[Any]) -> None:
        """Read the inputs from ``vals``, run the kernel, store its results into ``vals``."""
        arrays = [vals[s] if s.__class__ is int else s.get(vals) for s in self.inputs]
        outs = [np.empty(shape, dtype) for _, shape, dtype in self.outputs]
        self.fn(self.size, *[a.reshape(-1) for a in arrays], *[o.reshape(-1) for o in outs])
        for (slots, _, _), o in zip(self.outputs, outs):
            for s in slots:
                vals[s] = o
        for s, k in self.aliases:
            vals[s] = arrays[k]


def fuse(code: list[tuple[Any, ...]], spec: Callable[[Any], Any],
         used: Callable[[tuple[Any, ...]], list[Any]], kept: set[int]) -> list[tuple[Any, ...]]:
    """``code`` with each run of two or more consecutive fusible instructions replaced by one
    ``FUSED`` instruction.

    ``spec(source)`` gives a source's traced (shape, dtype), None for one whose array may change
    within the step; ``used(instruction)`` the sources it reads and the slots it writes;
    ``kept`` the slots the step returns.
    """
    groups: list[tuple[list[tuple[int, _Node]], list[int]]] = []  # (nodes, gradient stores)
    run: list[tuple[int, _Node]] = []
    stores: list[int] = []
    for i, ins in enumerate(code):
        node = _node(ins, spec)
        if node is None and run and ins[0] == GRAD:
            # a gradient stored into a leaf: no fusible instruction reads a .grad, so it can
            # wait until the kernel has run
            stores.append(i)
            continue
        if node is None or (run and (node.elem != run[-1][1].elem or len(run) == MAX_NODES)):
            groups.append((run, stores))
            run, stores = [], []
        if node is not None:
            run.append((i, node))
    groups = [(g, st) for g, st in [*groups, (run, stores)] if len(g) >= 2]
    while True:  # again without any group Numba could not compile: the others' outputs change
        fused = {i: node for g, _ in groups for i, node in g}
        readers: dict[int, list[int]] = {}  # slot -> the instructions that use it once fused
        for i, ins in enumerate(code):
            node = fused.get(i)
            for s in used(ins) if node is None else node.uses():
                if s.__class__ is int:
                    readers.setdefault(s, []).append(i)
        starts = {g[0][0]: (_build(g, readers, kept, spec), st) for g, st in groups}
        if all(k is not None for k, _ in starts.values()):
            break
        groups = [(g, st) for g, st in groups if starts[g[0][0]][0] is not None]
    moved = {i for _, st in groups for i in st}
    out = []
    for i, ins in enumerate(code):
        if i in starts:
            kernel, st = starts[i]
            out.append((FUSED, kernel, ()))
            out.extend(code[k] for k in st)
        elif i not in fused and i not in moved:
            out.append(ins)
    return out


class _Node:
    """One fusible instruction: its result slots with their formulas (parsed), the sources the
    formulas' names stand for, and the op's parameters."""

    __slots__ = ("elem", "exprs", "names", "params", "op")

    def __init__(self, elem: Any, exprs: list[tuple[int, ast.expr]], names: dict[str, Any],
                 params: dict[str, Any], op: str) -> None:
        self.elem, self.exprs, self.names, self.params, self.op = elem, exprs, names, params, op

    def uses(self) -> list[Any]:
        """The sources its formulas read and the slots it writes."""
        return [*self.names.values(), *(s for s, _ in self.exprs)]


def _node(ins: tuple[Any, ...], spec: Callable[[Any], Any]) -> _Node | None:
    kind = ins[0]
    if kind == OP:
        _, op, srcs, dyn, slot, _, _ = ins
        formula = getattr(type(op), "scalar", None)
        if formula is None or dyn:
            return None
        elem = spec(slot)
        results = [(slot, formula)]
        extra: dict[str, Any] = {}
        label = op.name
    elif kind == BACKWARD:
        _, op, srcs, slot, g, outs, _ = ins
        formulas = getattr(type(op), "scalar_grad", None)
        if formulas is None or outs.__class__ is not tuple or len(outs) != len(formulas):
            return None
        elem = spec(slot)
        if spec(g) != elem:
            return None
        results = []
        for s, f in zip(outs, formulas):
            if s is None:
                continue
            if s.__class__ is not int or f is None or spec(s) != elem:
                return None
            results.append((s, f))
        extra = {"y": slot, "g": g}
        label = f"{op.name}'"
    else:
        return None
    if elem is None or elem[1].kind != "f" or elem[1].itemsize not in (4, 8):
        return None
    arg_names = list(inspect.signature(type(op).forward).parameters)[1:]
    if len(arg_names) != len(srcs):
        return None
    names = dict(zip(arg_names, srcs)) | extra
    for name, src in names.items():
        shape_dtype = spec(src)
        if shape_dtype is None:
            return None
        shape, dtype = shape_dtype
        if not (shape == elem[0] or math.prod(shape) == 1):
            return None
        if dtype != elem[1] and not (dtype.kind == "b" and name == "cond"):
            return None
    exprs = []
    for s, f in results:
        expr = _parse(f, names, op.params)
        if expr is None:
            return None
        exprs.append((s, expr))
    read = {n.id for _, e in exprs for n in ast.walk(e) if isinstance(n, ast.Name)}
    names = {name: src for name, src in names.items() if name in read}
    return _Node(elem, exprs, names, op.params, label)


def _parse(formula: str, names: dict[str, Any], params: dict[str, Any]) -> ast.expr | None:
    """``formula`` parsed, or None if it calls or names anything but the functions it may use,
    ``names`` and numeric parameters of the op."""
    tree = ast.parse(formula, mode="eval").body
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS:
                return None
        elif isinstance(node, ast.Name) and node.id not in _FUNCS and node.id not in names:
            value = params.get(node.id)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return None
    return tree


def _build(group: list[tuple[int, _Node]], readers: dict[int, list[int]], kept: set[int],
           spec: Callable[[Any], Any]) -> Kernel | None:
    """The kernel of a group of instructions, computing every result in one loop, compiled
    now for the group's dtypes; None if Numba cannot compile it (the group then replays op by
    op)."""
    members, elem = {i for i, _ in group}, group[0][1].elem
    inputs: list[Any] = []
    full: list[bool] = []
    var: dict[Any, str] = {}  # a source read from outside the group -> its variable
    produced: dict[int, str] = {}  # a slot computed in the group -> its variable
    lines: list[str] = []
    for _, node in group:
        env = {}
        for name, src in node.names.items():
            if src.__class__ is int and src in produced:
                env[name] = produced[src]
                continue
            key = src if src.__class__ is int else id(getattr(src, "t", src))  # a tensor once
            v = var.get(key)
            if v is None:
                v = var[key] = f"x{len(inputs)}"
                inputs.append(src)
                full.append(spec(src)[0] == elem[0])
            env[name] = v
        for s, tree in node.exprs:
            text = _render(tree, env, node.params, elem[1].name)
            if text.isidentifier():  # a value as it is (Add's gradient)
                produced[s] = text
            else:  # numbered in the kernel, so that repeated patterns share one kernel
                produced[s] = f"t{len(lines)}"
                lines.append(f"t{len(lines)} = {text}")
    outputs: dict[str, list[int]] = {}
    aliases = []
    for s, v in produced.items():
        if s in kept or any(r not in members for r in readers.get(s, ())):
            if v[0] == "x":
                aliases.append((s, int(v[1:])))
            else:
                outputs.setdefault(v, []).append(s)
    args = [f"a{k}" for k in range(len(inputs))] + [f"o{k}" for k in range(len(outputs))]
    body = [f"    x{k} = a{k}[0]" for k, f in enumerate(full) if not f]
    body.append("    for e in range(n):")
    body += [f"        x{k} = a{k}[e]" for k, f in enumerate(full) if f]
    body += [f"        {line}" for line in lines]
    body += [f"        o{k}[e] = {v}" for k, v in enumerate(outputs)]
    source = f"def kernel(n, {', '.join(args)}):\n" + "\n".join(body) + "\n"
    fn = _compile(source)
    try:  # compile for these dtypes now, on one-element arrays and an empty loop
        fn(0, *[np.zeros(1, spec(src)[1]) for src in inputs],
           *[np.zeros(1, elem[1]) for _ in outputs])
    except Exception:  # noqa: BLE001 (Numba's typing and lowering errors have no common base)
        return None
    return Kernel(fn, source, math.prod(elem[0]), inputs,
                  [(tuple(slots), elem[0], elem[1]) for slots in outputs.values()], aliases,
                  [node.op for _, node in group])


def _render(tree: ast.expr, env: dict[str, str], params: dict[str, Any], dtype: str) -> str:
    """A formula's source with its names replaced by the kernel's variables, ``math.*``
    functions and parameter values, and its numbers in the kernel's ``dtype`` (so float32
    stays float32, as the ops compute it)."""

    def number(value: Any) -> ast.expr:
        return ast.Call(ast.Name(dtype, ast.Load()), [ast.Constant(value)], [])

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.AST:
            if node.id in env:
                return ast.Name(env[node.id], ast.Load())
            if node.id in _FUNCS:
                return ast.parse(_FUNCS[node.id], mode="eval").body
            return number(params[node.id])

        def visit_Constant(self, node: ast.Constant) -> ast.AST:
            return number(node.value)

    copy = ast.parse(ast.unparse(tree), mode="eval")
    return ast.unparse(ast.fix_missing_locations(Rename().visit(copy)))


def _compile(source: str) -> Callable[..., Any]:
    """The Numba kernel of ``source`` (compiled on its first call, once per source)."""
    fn = _compiled.get(source)
    if fn is None:
        import numba

        scope: dict[str, Any] = {"math": math, "float32": np.float32, "float64": np.float64}
        exec(compile(source, "<chainrule.fusion>", "exec"), scope)
        fn = _compiled[source] = numba.njit(error_model="numpy")(scope["kernel"])
    return fn
