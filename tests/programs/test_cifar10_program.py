"""The CIFAR-10 ResNet-18 program in PyTorch's idiom (``cifar10_resnet18.py``) runs on chainrule,
and it is PyTorch's program with the imports swapped: nothing else differs, and every
``torch.*`` / ``nn.*`` / ``optim.*`` name it uses exists in PyTorch."""

from __future__ import annotations

import ast
import importlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr
from chainrule.vision import models
from vision_files import write_cifar10

PROGRAM = Path(__file__).with_name("cifar10_resnet18.py")
SRC = Path(__file__).resolve().parents[2] / "src"
TORCH_IMPORT = re.compile(r"^import chainrule\S* as \w+\s+# (import (?:torch|torchvision)\S*"
                          r"(?: as \w+)?)$")


def test_program_trains_on_generated_cifar_files(tmp_path):
    pytest.importorskip("PIL")
    write_cifar10(tmp_path / "cifar-10-batches-py", per_batch=8, n_test=8)
    checkpoint = tmp_path / "resnet18.safetensors"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, str(PROGRAM), str(tmp_path), "--steps", "3",
                          "--batch-size", "8", "--lr", "0.01", "--checkpoint", str(checkpoint)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr
    losses = [float(v) for v in re.findall(r"step \d+ loss (\S+)", run.stdout)]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert "40 training images, classes: airplane" in run.stdout
    assert re.search(r"test accuracy [\d.]+% \(\d+/8\)", run.stdout)
    model = models.resnet18(num_classes=10)
    model.load_state_dict(cr.load(checkpoint))


def _split(source: str) -> tuple[list[str], str]:
    """The program's chainrule import lines, and its text with them swapped for PyTorch's."""
    swapped, imports = [], []
    for line in source.splitlines():
        if line.startswith("import chainrule"):
            match = TORCH_IMPORT.match(line)
            assert match, f"an import line without the PyTorch import it replaces: {line!r}"
            imports.append(line)
            line = match.group(1)
        swapped.append(line)
    return imports, "\n".join(swapped)


def test_the_program_is_pytorchs_with_imports_swapped():
    source = PROGRAM.read_text()
    imports, torch_source = _split(source)
    assert len(imports) == 5
    torch_tree = ast.parse(torch_source)
    assert ast.get_docstring(torch_tree)  # it names chainrule; the code must not
    code = ast.unparse([n for n in torch_tree.body[1:] if not isinstance(n, ast.Import)])
    assert "chainrule" not in code and " cr." not in code
    aliases = {a.asname or a.name: a.name for n in torch_tree.body if isinstance(n, ast.Import)
               for a in n.names}
    assert aliases == {"argparse": "argparse", "torch": "torch", "nn": "torch.nn",
                       "optim": "torch.optim", "torchvision": "torchvision",
                       "transforms": "torchvision.transforms"}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def test_every_torch_name_the_program_uses_exists_in_pytorch():
    torch = pytest.importorskip("torch")
    roots = {"torch": torch, "nn": torch.nn, "optim": torch.optim}
    used = {name for node in ast.walk(ast.parse(PROGRAM.read_text()))
            if isinstance(node, ast.Attribute) and (name := _dotted(node))
            and name.split(".")[0] in roots}
    assert {"torch.utils.data.DataLoader", "nn.CrossEntropyLoss", "optim.SGD"} <= used
    importlib.import_module("torch.utils.data")
    for name in sorted(used):
        obj = roots[name.split(".")[0]]
        for part in name.split(".")[1:]:
            assert hasattr(obj, part), f"{name} is not PyTorch's"
            obj = getattr(obj, part)
