"""The README's examples run — offline, on a machine with nothing but the package — and reach
the results it quotes; bad options end in a one-line error, not a traceback."""

from __future__ import annotations

import importlib.util
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str, env: dict[str, str] | None = None, ok: bool = True,
        code: str | None = None) -> subprocess.CompletedProcess:
    """Run the example (or ``code`` with ``sys.argv`` set to it) in a fresh interpreter."""
    argv = [str(EXAMPLES / name), *args]
    cmd = [sys.executable, *(["-c", code, *argv] if code else argv)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                         env={**os.environ, **(env or {})})
    assert (out.returncode == 0) == ok, out.stderr
    return out


def stdout(name: str, *args: str) -> str:
    return run(name, *args).stdout


def offline(tmp_path: Path) -> dict[str, str]:
    """An environment with no MNIST anywhere: an empty home, no $CHAINRULE_DATA."""
    return {"HOME": str(tmp_path), "CHAINRULE_DATA": ""}


def one_line_error(out: subprocess.CompletedProcess, script: str) -> str:
    assert "Traceback" not in out.stderr and out.stderr.startswith(f"{script}: "), out.stderr
    return out.stderr


def last_float(pattern: str, text: str) -> float:
    found = re.findall(pattern, text)
    assert found, f"{pattern!r} not in output:\n{text}"
    return float(found[-1])


def test_xor_two_sigmoid_units_solve_it() -> None:
    out = stdout("xor.py")
    for inputs, want in (("[0.0, 0.0]", 0), ("[0.0, 1.0]", 1), ("[1.0, 0.0]", 1),
                         ("[1.0, 1.0]", 0)):
        got = last_float(re.escape(inputs) + r" -> ([0-9.]+)", out)
        assert abs(got - want) < 0.1


def test_regression_fits_the_curve() -> None:
    assert last_float(r"RMSE against the noiseless curve: ([0-9.]+)", stdout("regression.py")) < 0.1


def test_spiral_is_separated() -> None:
    assert last_float(r"train accuracy ([0-9.]+)", stdout("spiral.py")) > 0.95


def test_exploding_gradients_are_bounded_by_clipping(tmp_path) -> None:
    figure = tmp_path / "eg.png"
    out = stdout("exploding_gradients.py", "--iters", "30", "--plot", str(figure))
    grads = {w: float(g) for w, g in re.findall(r"^ *([0-9.]+) +\S+ +\S+ +(\S+) +\S+$", out,
                                                re.M)}
    assert max(grads.values()) > 1000 * min(grads.values())  # explodes at the cliff
    rows = dict(re.findall(r"^  (no clipping|clip_grad_norm_ 20.0) +(.+)$", out, re.M))
    raw = [float(v) for v in rows["no clipping"].split()]
    clipped = [float(v) for v in rows["clip_grad_norm_ 20.0"].split()]
    max_grad, max_step, max_loss = 0, 1, 2
    assert raw[max_grad] > 1000 and raw[max_step] > 10 and raw[max_loss] > 1000
    assert clipped[max_step] <= 0.01 * 20.0 * (1 + 1e-6) and clipped[max_loss] < 10
    if importlib.util.find_spec("matplotlib") is not None:
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "no figure written" in out and not figure.exists()


def test_mnist_mlp_falls_back_to_the_shipped_subset_offline(tmp_path) -> None:
    out = run("mnist_mlp.py", "--epochs", "1", "--no-download", env=offline(tmp_path))
    assert "FALLING BACK" in out.stderr and "pass --data-dir DIR" in out.stderr
    assert last_float(r"test accuracy ([0-9.]+)", out.stdout) > 0.5
    assert "(on the shipped SUBSET)" in out.stdout


@pytest.mark.parametrize("script", ["mnist_mlp.py", "keras_mnist_cnn.py"])
def test_mnist_examples_refuse_a_data_dir_without_data(tmp_path, script) -> None:
    err = one_line_error(run(script, "--data-dir", "/nonexistent", "--no-download", ok=False),
                         script)
    assert "/nonexistent" in err and "does not exist" in err
    err = one_line_error(run(script, "--data-dir", str(tmp_path), "--no-download", ok=False),
                         script)
    assert f"\n  {tmp_path}\n" in err and "pass --data-dir DIR" in err


def test_worksheet_example_takes_epochs_and_runs_offline(monkeypatch, capsys) -> None:
    """The worksheet program end to end, offline, on a slice of the subset for speed."""
    import chainrule.datasets
    from chainrule.datasets import load_subset
    from chainrule.keras.models import Sequential

    (x, y), (xt, yt) = load_subset()
    monkeypatch.setattr(chainrule.datasets, "load_mnist_or_subset",
                        lambda data_dir, download: (((x[:48], y[:48]), (xt[:32], yt[:32])), True))
    calls = []
    fit = Sequential.fit
    monkeypatch.setattr(Sequential, "fit", lambda self, *a, **kw: calls.append(kw) or
                        fit(self, *a, **{**kw, "verbose": 0}))
    monkeypatch.setattr(sys, "argv", ["keras_mnist_cnn.py", "--epochs", "1", "--no-download"])
    runpy.run_path(str(EXAMPLES / "keras_mnist_cnn.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert calls == [{"epochs": 1, "batch_size": 32, "validation_split": 1 / 6}]
    assert "Total params: 596,042" in out and "(on the shipped SUBSET)" in out
    assert 0.0 <= last_float(r"Test accuracy: ([0-9.]+)", out) <= 1.0


def test_char_lm_runs_anywhere_on_the_shipped_excerpt() -> None:
    out = stdout("char_lm.py", "--steps", "2", "--eval-every", "2", "--hidden", "16",
                 "--embed", "8", "--sample-chars", "5")
    assert "tinyshakespeare_excerpt.txt (an excerpt of tinyshakespeare" in out
    assert "karpathy/char-rnn" in out and 3.0 < last_float(r"chainrule +([0-9.]+)", out) < 5.0


def test_char_lm_one_line_errors() -> None:
    err = one_line_error(run("char_lm.py", "--data", "/nonexistent.txt", ok=False), "char_lm.py")
    assert "/nonexistent.txt: no such file" in err and "karpathy/char-rnn" in err
    no_torch = ("import runpy, sys\n"
                "sys.modules['torch'] = None  # as if PyTorch were not installed\n"
                "sys.argv = sys.argv[1:]\n"
                "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    err = one_line_error(run("char_lm.py", "--compare-torch", ok=False, code=no_torch),
                         "char_lm.py")
    assert "--compare-torch needs PyTorch" in err


def test_graph_layer_beats_features_alone() -> None:
    out = stdout("graph_node_classification.py")
    graph = last_float(r"GraphConv.*test accuracy ([0-9.]+)", out)
    mlp = last_float(r"MLP.*test accuracy ([0-9.]+)", out)
    assert graph > mlp + 0.3
