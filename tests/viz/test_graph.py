"""``cr.viz.graph``: DOT structure of known graphs, gradients shown after backward, rendering."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule.viz import graph


def _nodes_and_edges(dot: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    nodes = dict(re.findall(r"^\s+(\w+) \[(.*)\];$", dot, re.M))
    edges = re.findall(r"^\s+(\w+) -> (\w+);$", dot, re.M)
    return nodes, edges


def _notes_example() -> tuple[cr.Tensor, cr.Tensor]:
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    return x, 2 / cr.sin(cr.exp(-x))


def test_notes_example_is_neg_exp_sin_div_chain() -> None:
    x, f = _notes_example()
    g = graph(f, names={"x": x, "f": f})
    dot = g.source
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    nodes, edges = _nodes_and_edges(dot)
    ops = {k: v for k, v in nodes.items() if k.startswith("op")}
    assert [re.search(r"<b>(\w+)</b>", ops[k]).group(1) for k in sorted(ops)] == [
        "neg", "exp", "sin", "div"]
    ids = {name: k for k, v in nodes.items() for name in ("x", "f") if f"<b>{name}</b>" in v}
    succ: dict[str, list[str]] = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    # Walk x → f: tensor, op, tensor, ... must visit exactly the four ops in order.
    path, node = [], ids["x"]
    while node != ids["f"]:
        (nxt,) = succ[node]
        if nxt.startswith("op"):
            path.append(re.search(r"<b>(\w+)</b>", nodes[nxt]).group(1))
        node = nxt
    assert path == ["neg", "exp", "sin", "div"]
    # The only other tensor is the constant 2 feeding the division.
    others = [k for k in nodes if k.startswith("t") and k not in ids.values()]
    assert len(others) == 4 and sum("const" in nodes[k] for k in others) == 1
    assert "(2,) float32" in nodes[ids["x"]] and "9fd4ff" in nodes[ids["x"]]  # highlighted leaf
    assert "9fd4ff" not in nodes[ids["f"]]


def test_show_grads_reads_gradients_after_backward() -> None:
    x, f = _notes_example()
    g = graph(f, show_grads=True, names={"x": x})
    assert "grad" not in g.source.replace("requires_grad", "")
    f.sum().backward()
    u = np.exp(-x.array)
    expected = 2 * np.cos(u) * u / np.sin(u) ** 2
    text = g.source
    assert "grad [" in text
    shown = re.search(r"grad \[([^\]]*)\]", text).group(1)
    np.testing.assert_allclose([float(s) for s in shown.split(",")], expected, rtol=1e-2)


def test_graph_freed_by_backward_raises_helpfully() -> None:
    _, f = _notes_example()
    f.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        graph(f.sum())


def test_shared_subexpressions_and_params_appear_once() -> None:
    w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    x = cr.ones(3, 2)
    h = x @ w.T
    y = (h * h).sum(1)
    g = graph(y)
    assert [op.name for op in g.ops] == ["permute", "matmul", "mul", "sum"]
    nodes, edges = _nodes_and_edges(g.source)
    assert "sum(axes=(1,), keepdim=False)" in g.source
    mul = next(k for k, v in nodes.items() if "<b>mul</b>" in v)
    assert len([a for a, b in edges if b == mul]) == 2  # h feeds mul twice
    assert len(g.tensors) == len({id(t) for t in g.tensors}) == 6


def test_a_tensor_without_history_is_one_node() -> None:
    g = graph(cr.ones(2))
    assert g.ops == [] and g.source.count("->") == 0 and "output" in g.source
    with pytest.raises(TypeError):
        graph(np.ones(2))


def test_deep_graph_does_not_recurse() -> None:
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert len(graph(y).ops) == 3000


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' binary not installed")
def test_renders_svg_and_png(tmp_path) -> None:
    pytest.importorskip("graphviz")
    _, f = _notes_example()
    g = graph(f)
    svg = g.render(tmp_path / "f.svg")
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text and "sin" in text
    png = g.render(tmp_path / "f.png", format="png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in g._repr_svg_()
    with pytest.raises(ValueError, match="unsupported format"):
        g.render(tmp_path / "f.bmp", format="bmp")
