"""Every tutorial runs as a script and reaches the results its text describes.

The site build executes the tutorials too, but only fails on an exception; these tests also
check the claims (an accuracy, a matching gradient, a caught NaN), so a change to chainrule
that quietly spoils a tutorial's lesson fails here. Each runs in a subprocess from its own
directory (as a notebook does), with the non-interactive matplotlib backend and one BLAS
thread (two threads on a shared two-core machine slow small matmuls many times over).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")  # the tutorials' plots; in the "docs" extra

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"
NUMBER = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?|inf|nan)"


def values(pattern: str, text: str) -> list[float]:
    """The numbers captured by the last match of ``pattern`` (``{}`` stands for a number)."""
    found = re.findall(pattern.replace("{}", NUMBER), text)
    assert found, f"{pattern!r} not in the output:\n{text}"
    last = found[-1]
    return [float(v) for v in (last if isinstance(last, tuple) else (last,))]


def value(pattern: str, text: str) -> float:
    return values(pattern, text)[0]


def xor(out: str) -> None:
    outputs = values(r"chainrule XOR outputs: \[{} +{} +{} +{}\]", out)
    assert [round(v) for v in outputs] == [0, 1, 1, 0]
    assert [round(v) for v in values(r"NumPy, learned: \[{} +{} +{} +{}\]", out)] == [0, 1, 1, 0]


def graphs(out: str) -> None:
    assert value(r"x.grad = {}", out) == pytest.approx(3.067458, abs=1e-6)
    assert "gradcheck passed: True" in out
    assert value(r"max \|fwd - rev\| = {}", out) < 1e-12


def losses(out: str) -> None:
    assert value(r"cross_entropy: {}", out) == pytest.approx(2000.0)
    assert values(r"softmax: .*loss: {}", out) == [float("inf")]
    assert value(r"BCE with logits  : \[{}", out) == pytest.approx(40.0)
    assert value(r"max \|grad - \(p - onehot\)/N\| = {}", out) < 1e-12


def optimisation(out: str) -> None:
    best = value(r"minimum loss {}", out)
    for name in ("momentum", "Nesterov", "Adam", "NAdam"):
        assert value(name + r" +final loss {}", out) < best + 0.01
    constant, cosine = values(r"constant lr -> loss {}, cosine decay -> loss {}", out)
    assert cosine < constant
    assert value(r"no clipping: largest loss {}", out) > 1e4
    assert value(r"clipped    : largest loss {}", out) < 10


def init_activations(out: str) -> None:
    assert values(r"naive N\(0, 0.01²\) +activation std: layer 1 {}, layer 10 {}", out)[1] < 1e-6
    he_last = values(r"He \(kaiming_normal_\) +activation std: layer 1 {}, layer 10 {}", out)[1]
    assert 0.3 < he_last < 3
    assert value(r"He \(kaiming_normal_\) +loss after 40 steps: {}", out) < value(
        r"naive N\(0, 0.01²\) +loss after 40 steps: {}", out)
    assert value(r"ReLU +lr 0.1 +units negative on every input: .*after 20 steps {}%", out) > 50
    assert value(r"ReLU +lr 0.001 +units negative on every input: .*after 20 steps {}%",
                 out) < 10


def regularisation(out: str) -> None:
    assert value(r"no regularisation: lowest validation loss at epoch {}", out) < 30
    zeros = {name: value(re.escape(name) + r" +first-layer weights with \|w\| < 1e-3: {}%", out)
             for name in ("none", "L2 (λ=1e-3)", "L1 (λ=1e-4)")}
    assert zeros["none"] < zeros["L2 (λ=1e-3)"] < zeros["L1 (λ=1e-4)"]
    final = {name: value(re.escape(name) + r" +train loss .* validation loss {}", out)
             for name in ("none", "L2 (λ=1e-3)", "L1 (λ=1e-4)", "dropout 0.5")}
    assert all(final[name] < final["none"] for name in final if name != "none")
    stopped, restored = values(r"stopped after epoch {}, restored epoch {}", out)
    assert restored < stopped < 30


def convnets(out: str) -> None:
    assert value(r"F.conv2d \(1, 1, 26, 26\)  max difference {}", out) < 1e-12
    assert "matches nn.MaxPool2d: True" in out
    assert value(r"Total params: {}", out.replace(",", "")) == 596042
    assert value(r"worksheet ConvNet: test accuracy {}", out) > 0.85
    assert value(r"cr.nn ConvNet: test accuracy {}", out) > 0.85
    assert value(r"small residual network .*test accuracy {}", out) > 0.7


def sequences(out: str) -> None:
    assert "last state by hand equals nn.RNN's: True" in out
    for cell in ("RNN", "LSTM", "GRU"):
        assert value(cell + r" +\(.*\): validation loss {}", out) < 2.3  # uniform: 4.1
    ratio = {cell: value(cell + r" +gradient norm at distance 1: .*ratio {}", out)
             for cell in ("RNN", "LSTM")}
    assert ratio["RNN"] < 1e-6 < ratio["LSTM"]


def attention(out: str) -> None:
    assert value(r"max difference to F.scaled_dot_product_attention {}", out) < 1e-5
    assert "causal mask agrees with is_causal=True: True" in out
    assert value(r"step 300: train loss .*, validation loss {}", out) < 2.5


def beyond(out: str) -> None:
    assert value(r"GraphConv accuracy on the unlabelled nodes: {}", out) > value(
        r"MLP +accuracy on the unlabelled nodes: {}", out) + 0.2
    assert value(r"MultiplicativeInteraction +\d+ parameters, final MSE {}", out) < value(
        r"concat MLP +\d+ parameters, final MSE {}", out) / 3
    assert "per-sample gradients match one backward() per example" in out
    assert value(r"max \|H - exact\| = {}", out) < 1e-10
    assert value(r"one batch of 20: loss .* -> {}", out) < 0.05
    assert "caught: Function 'sqrtBackward' returned inf" in out


CLAIMS: dict[str, Callable[[str], None]] = {
    "01_neuron_layer_mlp.py": xor,
    "02_graphs_chain_rule.py": graphs,
    "03_losses.py": losses,
    "04_optimisation.py": optimisation,
    "05_init_activations.py": init_activations,
    "06_regularisation.py": regularisation,
    "07_convnets.py": convnets,
    "08_sequences.py": sequences,
    "09_attention_transformers.py": attention,
    "10_beyond.py": beyond,
}


def test_every_tutorial_has_its_claims_checked() -> None:
    assert sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.py")) == sorted(CLAIMS)


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_tutorial_runs_and_shows_what_it_says(name: str) -> None:
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    run = subprocess.run([sys.executable, name], cwd=TUTORIALS, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    CLAIMS[name](run.stdout)
