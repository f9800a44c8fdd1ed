"""The op table is where ``chainrule.<name>``, ``Tensor.<name>`` and ``nn.functional.<name>``
come from, and the core it sits on imports without cycles."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.table import FUNCTIONAL, FUNCTIONS, METHODS, TABLE

SRC = Path(cr.__file__).parent
CORE = [SRC / "tensor.py", SRC / "tensor_operators.py",
        *sorted((SRC / "ops").glob("*.py")), *sorted((SRC / "autograd").glob("*.py"))]


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in CORE}


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement reads: ``from pkg import sub`` reads the module
    ``pkg.sub``; ``from pkg import name`` reads ``pkg`` itself."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    subs = [f"{base}.{a.name}" for a in node.names]
    return [m for m in subs if m in MODULES] + ([base] if any(m not in MODULES for m in subs)
                                                else [])


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        edges[name] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges[name] |= {m for m in _imported(node) if m in MODULES and m != name}
    for name in edges:  # importing a.b.c from outside a.b first runs a.b's __init__
        for m in list(edges[name]):
            parent = m.rpartition(".")[0]
            if parent in MODULES and parent != name and not name.startswith(parent + "."):
                edges[name].add(parent)
    return edges


@pytest.mark.parametrize("entry", TABLE, ids=lambda e: e.name)
def test_entry_is_exposed_where_it_says(entry) -> None:
    for name in entry.names:
        if entry.public:
            assert inspect.unwrap(getattr(cr, name)) is inspect.unwrap(entry.function), name
        if entry.method:
            assert getattr(cr.Tensor, name) is entry.function, name
    if entry.functional:
        assert getattr(F, entry.name) is entry.function


def test_exports_come_from_the_table() -> None:
    assert set(FUNCTIONS) <= set(vars(cr))
    assert set(FUNCTIONAL) <= set(F.__all__)
    assert all(vars(cr.Tensor)[name] is fn for name, fn in METHODS.items())


def test_tensor_is_its_class_body_and_the_table() -> None:
    """Every method of ``Tensor`` is written in ``tensor.py``'s class body or bound from the
    table: nothing else attaches one."""
    tree = ast.parse((SRC / "tensor.py").read_text())
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor").body
    written = {n.name for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    written |= {t.id for n in body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    attached = {name for name, value in vars(cr.Tensor).items() if callable(value)
                or isinstance(value, property)}
    assert attached - written - set(METHODS) == set()
    assert not written & set(METHODS)


def test_tensor_imports_no_op() -> None:
    tree = ast.parse((SRC / "tensor.py").read_text())
    imported = {m for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for m in _imported(node)}
    assert not {m for m in imported if m.startswith("chainrule.ops")
                or m in ("chainrule.tensor_operators", "chainrule.autograd.function")}


def test_core_imports_at_the_top_only() -> None:
    """No import after a def or class (the end-of-file kind that hides a cycle), and no import
    of chainrule inside a function."""
    late, local = [], []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        seen_def = False
        for node in tree.body:
            seen_def |= isinstance(node, (ast.FunctionDef, ast.ClassDef))
            if seen_def and isinstance(node, (ast.Import, ast.ImportFrom)):
                late.append(f"{name}: {ast.unparse(node)}")
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        local += [(name, m) for m in _imported(node)
                                  if m.startswith("chainrule")]
    assert not late, late
    assert not local, local


def test_core_module_graph_has_no_cycle() -> None:
    edges = _graph()
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(m):], m]))
        if m in done:
            return
        for n in sorted(edges[m]):
            visit(n, [*path, m])
        done.add(m)

    for m in sorted(edges):
        visit(m, [])
