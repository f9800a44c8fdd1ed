"""The README's small examples run and reach the results it quotes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str) -> str:
    out = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def last_float(pattern: str, text: str) -> float:
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not in output:\n{text}"
    return float(found[-1])


def test_xor_two_sigmoid_units_solve_it() -> None:
    out = run("xor.py")
    for inputs, want in (("[0.0, 0.0]", 0), ("[0.0, 1.0]", 1), ("[1.0, 0.0]", 1),
                         ("[1.0, 1.0]", 0)):
        got = last_float(re.escape(inputs) + r" -> ([0-9.]+)", out)
        assert abs(got - want) < 0.1


def test_regression_fits_the_curve() -> None:
    assert last_float(r"RMSE against the noiseless curve: ([0-9.]+)", run("regression.py")) < 0.1


def test_spiral_is_separated() -> None:
    assert last_float(r"train accuracy ([0-9.]+)", run("spiral.py")) > 0.95


@pytest.mark.parametrize("name", ["exploding_gradients.py"])
def test_demo_runs(name: str) -> None:
    assert "clip_grad_norm_" in run(name)


def test_graph_layer_beats_features_alone() -> None:
    out = run("graph_node_classification.py")
    graph = last_float(r"GraphConv.*test accuracy ([0-9.]+)", out)
    mlp = last_float(r"MLP.*test accuracy ([0-9.]+)", out)
    assert graph > mlp + 0.3
