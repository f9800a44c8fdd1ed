"""Drawing the computation graph behind a tensor as Graphviz DOT.

The DOT text needs nothing beyond chainrule; rendering it to SVG/PNG needs the optional extra
``viz`` (``pip install "chainrule[viz]"``, the ``graphviz`` Python package) and Graphviz's
``dot`` binary (``apt-get install graphviz``, ``brew install graphviz``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from chainrule.backend import xp
from chainrule.tensor import Tensor

_FREED = ("graph: part of this tensor's graph was freed by backward(); call "
          "backward(retain_graph=True), or build the graph before calling backward (it reads "
          "gradients when the DOT text is produced)")


class Graph:
    """The graph that produced a tensor: op nodes (boxes) between tensor nodes (ellipses).

    The structure is captured when the object is made; the DOT text is produced on demand, so
    ``g = graph(loss, show_grads=True); loss.backward(); g.source`` shows the new gradients.

    Attributes:
        ops: the op nodes in topological order (inputs first), each an ``Op``.
        tensors: the tensor nodes, in the order first seen.
    """

    def __init__(self, root: Tensor, show_grads: bool = False,
                 names: dict[str, Tensor] | None = None) -> None:
        self.root = root
        self.show_grads = show_grads
        self.names = {id(t): n for n, t in (names or {}).items()}
        self.tensors: list[Tensor] = []
        self.ops: list[Any] = []
        self.edges: list[tuple[str, str]] = []
        self._ids: dict[int, str] = {}
        self._walk()

    # ---- structure ----------------------------------------------------------------------------
    def _tensor_id(self, t: Tensor) -> str:
        key = id(t)
        if key not in self._ids:
            self._ids[key] = f"t{len(self.tensors)}"
            self.tensors.append(t)
        return self._ids[key]

    def _walk(self) -> None:
        order: list[Any] = []
        outputs: dict[int, Tensor] = {}
        seen: set[int] = set()
        root_op = self.root.grad_fn
        if root_op is not None:
            outputs[id(root_op)] = self.root
        # Iterative post-order so deep graphs do not hit the recursion limit.
        stack: list[tuple[Any, bool]] = [(root_op, False)] if root_op is not None else []
        while stack:
            op, expanded = stack.pop()
            if expanded:
                order.append(op)
                continue
            if id(op) in seen:
                continue
            seen.add(id(op))
            if op.inputs is None:
                raise RuntimeError(_FREED)
            stack.append((op, True))
            for t in reversed(op.inputs):
                if t.grad_fn is not None:
                    outputs.setdefault(id(t.grad_fn), t)
                    stack.append((t.grad_fn, False))
        self._tensor_id(self.root)
        for op in order:
            self.ops.append(op)
            name = f"op{len(self.ops) - 1}"
            for t in op.inputs:
                self.edges.append((self._tensor_id(t), name))
            self.edges.append((name, self._tensor_id(outputs[id(op)])))

    # ---- DOT ----------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The graph as Graphviz DOT text."""
        lines = ["digraph chainrule {", "  rankdir=LR;",
                 '  node [fontname="Helvetica", fontsize=11];',
                 '  edge [color="#555555"];']
        for t in self.tensors:
            lines.append(f"  {self._ids[id(t)]} [{self._tensor_attrs(t)}];")
        for i, op in enumerate(self.ops):
            label = html.escape(_op_label(op), quote=False)
            lines.append(f'  op{i} [label=<<b>{label}</b>>, shape=box, style="rounded,filled", '
                         f'fillcolor="#fff2cc"];')
        for a, b in self.edges:
            lines.append(f"  {a} -> {b};")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _tensor_attrs(self, t: Tensor) -> str:
        name = self.names.get(id(t))
        if name is None:
            if t is self.root:
                name = "output"
            elif t.grad_fn is None:
                name = "param" if t.requires_grad else ("const" if t.ndim == 0 else "input")
            else:
                name = ""
        rows = [f"<b>{html.escape(name)}</b>"] if name else []
        rows.append(f"{tuple(t.shape)} {t.dtype}")
        if t.ndim == 0 or t.grad_fn is None and not t.requires_grad and t.numel() == 1:
            rows.append(f"value {_short(t.array)}")
        grad = self._grad_of(t) if self.show_grads else None
        if grad is not None:
            rows.append(f'<font color="#b03000">grad {html.escape(_short(grad))}</font>')
        label = "<br/>".join(rows)
        if t.grad_fn is None and t.requires_grad:
            style = 'style=filled, fillcolor="#9fd4ff", penwidth=2'
        elif t is self.root:
            style = 'style=filled, fillcolor="#d9ead3"'
        else:
            style = 'style=filled, fillcolor="#f3f3f3"'
        return f"label=<{label}>, shape=ellipse, {style}"

    def _grad_of(self, t: Tensor) -> Any:
        if t.grad is not None:
            return t.grad.array
        return None

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Graph: {len(self.ops)} ops, {len(self.tensors)} tensors>"

    # ---- rendering (optional graphviz) --------------------------------------------------------
    def pipe(self, format: str = "svg") -> bytes:
        """The rendered image as bytes (needs the ``graphviz`` package and ``dot``)."""
        return _graphviz().Source(self.source).pipe(format=format)

    def render(self, path: str | Path, format: str = "svg") -> Path:
        """Write the rendered graph to ``path`` (``format`` 'svg', 'png', 'pdf', ...); the
        DOT text goes beside it only if you save ``source`` yourself. Returns the path."""
        if format not in ("svg", "png", "pdf", "jpg", "jpeg", "gif"):
            raise ValueError(f"render: unsupported format {format!r}")
        path = Path(path)
        path.write_bytes(self.pipe(format))
        return path

    def _repr_svg_(self) -> str | None:
        """Jupyter's rich display: an SVG when graphviz is installed, else the text repr."""
        try:
            return self.pipe("svg").decode()
        except (ImportError, RuntimeError, OSError):
            return None


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise ImportError("rendering needs the 'graphviz' package and Graphviz's 'dot' binary: "
                          "pip install 'chainrule[viz]' and apt-get install graphviz (or brew "
                          "install graphviz); the DOT text is always available as .source"
                          ) from None
    return graphviz


def _op_label(op: Any) -> str:
    params = {k: v for k, v in op.params.items() if not isinstance(v, xp.ndarray)
              and not (isinstance(v, tuple) and any(isinstance(i, xp.ndarray) for i in v))}
    if not params:
        return op.name
    inner = ", ".join(f"{k}={_short_param(v)}" for k, v in params.items())
    return f"{op.name}({inner})"


def _short_param(v: Any) -> str:
    text = str(v)
    return text if len(text) <= 24 else text[:21] + "..."


def _short(a: Any) -> str:
    arr = xp.asarray(a)
    if arr.size == 1:
        return f"{arr.item():.4g}"
    return xp.array2string(arr, precision=3, threshold=6, edgeitems=2,
                           separator=", ").replace("\n", " ")


def graph(tensor: Tensor, show_grads: bool = False,
          names: dict[str, Tensor] | None = None) -> Graph:
    """The computation graph that produced ``tensor``, as a ``Graph`` (DOT text in ``.source``).

    Op nodes are boxes; tensor nodes are ellipses showing shape and dtype; leaves that require
    grad are highlighted in blue. With ``show_grads`` each tensor that has a ``.grad`` (leaves
    after ``backward``, or non-leaves after ``retain_grad()``) shows it.

    Args:
        tensor: the output whose history to draw.
        show_grads: print gradient values on the tensor nodes.
        names: optional labels, ``{"x": x, "w": w}``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor(0.5, requires_grad=True)
        >>> g = cr.viz.graph(2 / cr.sin(cr.exp(-x)), names={"x": x})
        >>> [op.name for op in g.ops]
        ['neg', 'exp', 'sin', 'div']
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a Tensor, got {type(tensor).__name__}")
    return Graph(tensor, show_grads=show_grads, names=names)
