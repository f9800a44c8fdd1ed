"""The end-to-end programs of this directory run, with chainrule and, with only their imports
changed, with PyTorch (so they really are written in PyTorch's idiom)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _runner import load

DATA = Path("/work/shared/data/tinyshakespeare/input.txt")
TINY_GPT = ["--steps", "16", "--eval-interval", "8", "--batch-size", "8", "--block-size", "16",
            "--chars", "20000", "--eval-iters", "2", "--n-embd", "32", "--n-layer", "1"]


@pytest.fixture(scope="module")
def gpt_needs() -> None:
    if not DATA.exists():
        pytest.skip(f"tinyshakespeare not found at {DATA}")
    pytest.importorskip("ml_dtypes")
    pytest.importorskip("tensorboardX")


def test_gpt_char_trains_with_amp_logs_to_tensorboard_and_reloads(
        gpt_needs: None, tmp_path: Path) -> None:
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    result = load("gpt_char").main([*TINY_GPT, "--data", str(DATA), "--logdir", str(tmp_path)])
    assert result["history"][-1]["train"] < result["first"]["train"] - 0.3
    assert result["reloaded_equal"]
    assert result["scale"] == 2.0**16  # no inf/NaN in these steps: the scale did not back off
    assert len(result["sample"]) == 41
    acc = ea.EventAccumulator(str(tmp_path / "gpt"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("train/step_loss")] == list(range(1, 17))
    assert acc.Scalars("amp/scale")[-1].value == 2.0**16
    val = ea.EventAccumulator(str(tmp_path / "gpt" / "loss_val"))
    val.Reload()
    assert [e.step for e in val.Scalars("loss")] == [0, 8, 16]


def test_gpt_char_runs_unchanged_under_pytorch(gpt_needs: None, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("tensorboard")
    tiny = ["--steps", "2", "--eval-interval", "2", "--batch-size", "4", "--block-size", "8",
            "--chars", "5000", "--eval-iters", "1", "--n-layer", "1"]
    result = load("gpt_char", "torch").main([*tiny, "--data", str(DATA),
                                             "--logdir", str(tmp_path)])
    assert result["reloaded_equal"]


@pytest.mark.parametrize("backend", ["chainrule", "torch"])
def test_onnx_roundtrip(backend: str, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    if backend == "torch":
        pytest.importorskip("torch")
    errors = load("onnx_roundtrip", backend).main(["--out", str(tmp_path)])
    assert set(errors) == {"convnet", "tagger"}
    assert max(errors.values()) < 1e-5
