"""Load a program of this directory with its imports as written (chainrule) or rewritten to
PyTorch's (every ``chainrule`` in an import line becomes ``torch``): the rest is unchanged."""

from __future__ import annotations

import types
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name: str, backend: str = "chainrule") -> types.ModuleType:
    source = (HERE / f"{name}.py").read_text()
    if backend == "torch":
        source = "\n".join(
            line.replace("chainrule", "torch") if line.startswith(("import ", "from ")) else line
            for line in source.splitlines())
    module = types.ModuleType(f"program_{name}_{backend}")
    module.__file__ = str(HERE / f"{name}.py")
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
