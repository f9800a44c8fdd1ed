"""``SummaryWriter`` writes real TensorBoard event files: read back with TensorBoard's own
``EventAccumulator``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from chainrule.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path: str | Path) -> object:
    acc = event_accumulator.EventAccumulator(str(path), size_guidance={"tensors": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_and_text_read_back(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(4):
            w.add_scalar("train/loss", cr.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.125, 0)
        w.add_histogram("weights", cr.arange(100).float(), 3)
        w.add_text("notes", "first **run**", 0)
    acc = _read(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("train/loss")] == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3)), (3, 0.25)]
    assert acc.Scalars("lr")[0].value == 0.125
    hist = acc.Histograms("weights")[0]
    assert hist.step == 3
    assert (hist.histogram_value.min, hist.histogram_value.max) == (0.0, 99.0)
    assert hist.histogram_value.num == 100
    text = acc.Tensors("notes/text_summary")[0]
    assert text.tensor_proto.string_val[0] == b"first **run**"


def test_add_scalars_writes_one_run_per_key(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as w:
        for step in range(2):
            w.add_scalars("loss", {"train": 1.0 + step, "val": cr.tensor(2.0 + step)}, step)
            w.add_scalars("a/b", {"x": 0.0}, step)
    runs = sorted(d for d in os.listdir(tmp_path) if (tmp_path / d).is_dir())
    assert runs == ["a_b_x", "loss_train", "loss_val"]  # PyTorch's layout
    assert [e.value for e in _read(tmp_path / "loss_val").Scalars("loss")] == [2.0, 3.0]
    assert [e.step for e in _read(tmp_path / "a_b_x").Scalars("a/b")] == [0, 1]


def test_add_graph_records_ops_under_their_modules(tmp_path: Path) -> None:
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    net.train()
    with SummaryWriter(str(tmp_path)) as w:
        w.add_graph(net, cr.randn(5, 3))
    assert net.training  # the trace ran in eval mode and restored the mode
    graph = _read(tmp_path).Graph()
    nodes = {n.name: n for n in graph.node}
    assert nodes["0/linear_0"].op == "linear"
    assert list(nodes["0/linear_0"].input) == ["input/input.0", "0/weight", "0/bias"]
    assert list(nodes["1/relu_1"].input) == ["0/linear_0"]
    assert list(nodes["output/output.0"].input) == ["2/linear_2"]
    shape = nodes["2/linear_2"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [5, 2]


def test_bad_scalar_and_default_log_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_try") as w:
        with pytest.raises(ValueError, match="add_scalar: 'x' needs one value, got an array of "
                                             "shape \\(3,\\)"):
            w.add_scalar("x", cr.ones(3))
        logdir = w.get_logdir()
    assert logdir.startswith("runs") and logdir.endswith("_try")
    assert os.listdir(tmp_path / logdir)


def test_bfloat16_values_are_widened(tmp_path: Path) -> None:
    pytest.importorskip("ml_dtypes")
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("v", cr.tensor(0.5).bfloat16(), 0)
        w.add_histogram("h", cr.ones(10).bfloat16(), 0)
    acc = _read(tmp_path)
    assert acc.Scalars("v")[0].value == 0.5
    assert np.isclose(acc.Histograms("h")[0].histogram_value.sum, 10.0)
