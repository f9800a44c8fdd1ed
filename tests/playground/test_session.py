"""Playground without a browser: datasets, validation, the protocol, training, export, server."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.playground import datasets as D
from chainrule.playground.session import (
    DEFAULTS,
    MAX_MESSAGE_BYTES,
    Session,
    parse_message,
    validate_config,
)

XOR_FAST = {"dataset": "xor", "layers": [8], "optimizer": "adam", "learning_rate": 0.03,
            "batch_size": 30, "seed": 1}


def train(s: Session, epochs: int) -> None:
    for _ in range(epochs):
        for _ in s.epoch_steps():
            pass


def test_features_columns():
    pts = np.array([[1.0, 2.0], [-0.5, 3.0]], np.float32)
    f = D.features(pts, D.FEATURES)
    np.testing.assert_allclose(f[1], [-0.5, 3.0, 0.25, 9.0, -1.5, np.sin(-0.5), np.sin(3.0)],
                               rtol=1e-6)


def test_parse_csv_accepts_header_and_maps_labels():
    pts, lab = D.parse_csv("x,y,c\n0,0,0\n1,1,1\n2,0,0\n0,2,1\n", "classification")
    assert sorted(lab.tolist()) == [-1, -1, 1, 1]
    assert np.abs(pts).max() == pytest.approx(D.DOMAIN - 0.5)


def test_parse_csv_accepts_class_names():
    text = "x1,x2,species\n0,0,setosa\n1,1,virginica\n2,0,setosa\n0,2,virginica\n"
    pts, lab = D.parse_csv(text, "classification")
    # the same rows with 0/1 labels (sorted names: setosa → −1, virginica → +1)
    pts01, lab01 = D.parse_csv("0,0,0\n1,1,1\n2,0,0\n0,2,1\n", "classification")
    np.testing.assert_array_equal(pts, pts01)
    np.testing.assert_array_equal(lab, lab01)
    assert lab[np.argmin(np.abs(pts - pts.min(0)).sum(1))] == -1  # (0, 0) is a setosa
    with pytest.raises(ValueError, match="two label values"):
        D.parse_csv("0,0,a\n1,1,b\n2,0,c\n0,2,a\n", "classification")
    with pytest.raises(ValueError, match="numeric labels.*'high'"):
        D.parse_csv("0,0,0.5\n1,1,high\n2,0,1\n0,2,0\n", "regression")
    with pytest.raises(ValueError, match="row 3: the label is empty"):
        D.parse_csv("0,0,a\n1,1,b\n2,0, \n0,2,a\n", "classification")


@pytest.mark.parametrize("text, match", [
    ("1,2\n3,4\n5,6\n7,8\n", "3 columns"),
    ("1,2,0\n3,x,1\n5,6,0\n7,8,1\n", "row 2"),
    ("1,2,0\n3,4,nan\n5,6,0\n7,8,1\n", "finite"),
    ("1,2,0\n3,4,1\n5,6,2\n7,8,1\n", "two label values"),
    ("1,2,0\n", "at least 4"),
])
def test_parse_csv_refuses_bad_files(text, match):
    with pytest.raises(ValueError, match=match):
        D.parse_csv(text, "classification")


@pytest.mark.parametrize("update, match", [
    ({"layers": [4] * 100}, "at most 6"),
    ({"layers": [9]}, r"\[1, 8\]"),
    ({"layers": [0]}, r"\[1, 8\]"),
    ({"layers": "4,2"}, "layers"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"learning_rate": float("nan")}, "finite"),
    ({"learning_rate": 0}, "> 0"),
    ({"learning_rate": True}, "number"),
    ({"dataset": "mnist"}, "unknown dataset"),
    ({"dataset": "custom"}, "unknown dataset"),
    ({"features": []}, "features"),
    ({"features": ["x3"]}, "unknown feature"),
    ({"activation": "swish"}, "unknown activation"),
    ({"batch_size": 2.5}, "whole number"),
    ({"noise": 80}, "noise"),
    ({"batch_size": 10**400}, "batch_size"),
    ({"seed": -1}, "seed"),
    ({"colour": 1}, "unknown config key"),
])
def test_validate_config_refuses(update, match):
    with pytest.raises(ValueError, match=match):
        validate_config(update, DEFAULTS)


def test_validate_config_keeps_dataset_and_problem_consistent():
    c = validate_config({"dataset": "plane"}, DEFAULTS)
    assert c["problem"] == "regression"
    c = validate_config({"problem": "regression"}, DEFAULTS)
    assert c["dataset"] == "plane"
    c = validate_config({"features": ["x2", "x1", "x1"]}, DEFAULTS)
    assert c["features"] == ["x1", "x2"]


@pytest.mark.parametrize("text", [None, "nope", "[1, 2]", '{"a": 1}', '{"type": 3}',
                                  "[" * 100_000, " " * (MAX_MESSAGE_BYTES + 1)])
def test_parse_message_refuses_malformed(text):
    with pytest.raises(ValueError):
        parse_message(text)


def test_handle_text_turns_bad_input_into_error_replies():
    s = Session("t", seed=1)
    for text in ["{", '{"type": "fly"}', '{"type": "export", "format": "pdf"}',
                 '{"type": "config", "config": {"layers": [1,1,1,1,1,1,1]}}',
                 '{"type": "upload", "csv": 5}']:
        (reply,) = s.handle_text(text)
        assert reply["type"] == "error" and reply["message"]
    assert s.config["layers"] == DEFAULTS["layers"]  # nothing half-applied


def test_training_lowers_the_loss_and_frames_describe_the_network():
    s = Session("t", seed=1)
    s.set_config(XOR_FAST)
    before = s.test_loss
    train(s, 25)
    assert s.epoch == 25 and s.test_loss < 0.2 < before
    f = s.frame()
    assert len(base64.b64decode(f["output"])) == f["grid"] ** 2
    assert [len(layer) for layer in f["neurons"]] == [2, 8, 1]
    assert np.array(f["weights"][0]).shape == (2, 8)
    assert len(f["history"]) == 26 and f["history_reset"]
    assert s.frame()["history"] == []  # increments only
    json.dumps(f, allow_nan=False)


def test_hyperparameters_change_without_reset_but_architecture_resets():
    s = Session("t", seed=1)
    train(s, 2)
    s.set_config({"learning_rate": 0.1, "optimizer": "adam"})
    assert s.epoch == 2 and s.net.optimizer.param_groups[0]["lr"] == 0.1
    s.set_config({"layers": [3]})
    assert s.epoch == 0 and s.net.linears[0].weight.shape == (3, 2)


def test_l1_drives_weights_to_exact_zero_and_l2_does_not():
    s = Session("t", seed=1)
    s.set_config({**XOR_FAST, "features": ["x1", "x2", "x1x2", "sin_x1"], "optimizer": "sgd",
                  "learning_rate": 0.03, "regularization": "l1", "reg_rate": 0.3})
    train(s, 10)
    assert s.net.zero_weights() > 0
    s.set_config({"regularization": "l2"})
    s.handle({"type": "reset"})
    train(s, 10)
    assert s.net.zero_weights() == 0


def test_divergence_is_reported_and_pauses():
    s = Session("t", seed=1)
    s.set_config({"dataset": "plane", "learning_rate": 10, "optimizer": "sgd",
                  "activation": "identity", "features": ["x1^2", "x2^2"], "layers": [8]})
    s.playing = True
    with pytest.raises(ValueError, match="diverged"), np.errstate(all="ignore"):
        train(s, 5)
    assert not s.playing
    # the frame showing it is still valid JSON: non-finite numbers go as null
    with np.errstate(all="ignore"):
        frame = json.loads(json.dumps(s.frame(), allow_nan=False))
    flat = [w for layer in frame["weights"] for row in layer for w in row]
    assert None in [*flat, frame["train_loss"], frame["test_loss"]]


def test_upload_csv_becomes_custom_dataset():
    s = Session("t", seed=1)
    pts = np.random.default_rng(0).normal(size=(40, 2))
    rows = "\n".join(f"{x},{y},{int(x > 0)}" for x, y in pts)
    replies = s.handle({"type": "upload", "csv": "a,b,label\n" + rows})
    assert replies[0]["config"]["dataset"] == "custom"
    assert len(replies[1]["train"]) + len(replies[1]["test"]) == 40
    s.set_config({"train_percent": 80})  # re-split keeps the uploaded points
    assert len(s.xtr) == 32


def test_exported_script_reproduces_the_losses(tmp_path):
    s = Session("t", seed=1)
    s.set_config(XOR_FAST)
    train(s, 5)
    (msg,) = s.handle({"type": "export", "format": "script"})
    path = tmp_path / msg["filename"]
    path.write_text(msg["text"])
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert f"test loss {s.test_loss:.6f}" in out and f"train loss {s.train_loss:.6f}" in out


def test_exported_script_keeps_training_with_the_public_api(tmp_path):
    s = Session("t", seed=1)
    s.set_config({**XOR_FAST, "optimizer": "adam", "regularization": "l1", "reg_rate": 0.01})
    train(s, 2)
    (msg,) = s.handle({"type": "export", "format": "script"})
    text = msg["text"]
    assert "cr.optim.Adam(" in text and "fit(model, F.binary_cross_entropy_with_logits" in text
    path = tmp_path / msg["filename"]
    path.write_text(text)
    out = subprocess.run([sys.executable, str(path), "--epochs", "3"], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    train_loss = float(out.split("train loss ")[1].split()[0])
    assert train_loss < s.train_loss


def test_config_offers_the_library_registries():
    (config, _) = Session("t", seed=1).config_messages()
    choices = config["choices"]
    assert choices["optimizer"] == [[k, c.__name__] for k, c in cr.optim.OPTIMIZERS.items()]
    assert choices["activation"] == [[k, c.__name__] for k, c in cr.nn.ACTIVATIONS.items()]
    assert choices["dataset"] == {"classification": list(cr.datasets.playground.CLASSIFICATION),
                                  "regression": list(cr.datasets.playground.REGRESSION)}
    s = Session("t", seed=1)
    for key in ("optimizer", "activation"):
        for value, _ in choices[key]:
            s.set_config({key: value})  # every offer is accepted and trains
            train(s, 1)
            assert np.isfinite(s.train_loss)


def test_checkpoint_export_loads_into_an_equal_model():
    s = Session("t", seed=1)
    train(s, 1)
    (msg,) = s.handle({"type": "export", "format": "checkpoint"})
    blob = base64.b64decode(msg["base64"])
    if msg["filename"].endswith(".safetensors"):
        path = "ckpt.safetensors"
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with open(f"{d}/{path}", "wb") as fh:
                fh.write(blob)
            state = cr.load(f"{d}/{path}")
        arrays = {k: np.asarray(v.array) for k, v in state.items()}
    else:
        arrays = dict(np.load(io.BytesIO(blob)))
    for k, v in s.net.state_dict().items():
        np.testing.assert_array_equal(arrays[k], v.array)


def test_graph_message_has_the_step_graph_as_nodes_edges_and_dot():
    s = Session("t", seed=1)
    (msg,) = s.handle({"type": "graph"})
    assert msg["type"] == "graph" and msg["dot"].lstrip().startswith("digraph")
    nodes = {n["id"]: n for n in msg["nodes"]}
    assert len(nodes) == len(msg["nodes"])
    assert all(a in nodes and b in nodes for a, b in msg["edges"])
    params = {n["label"]: n["shape"] for n in msg["nodes"] if n["kind"] == "param"}
    assert params == {name: list(p.shape) for name, p in s.net.model.named_parameters()}
    (out,) = [n for n in msg["nodes"] if n["kind"] == "output"]
    assert out["label"] == "loss" and out["shape"] == []
    ops = [n for n in msg["nodes"] if n["kind"] == "op"]
    # every op has an input edge and one output edge; tensors hang between ops
    assert all(sum(b == op["id"] for _, b in msg["edges"]) >= 1 for op in ops)
    assert all(sum(a == op["id"] for a, _ in msg["edges"]) == 1 for op in ops)
    assert {"linear", "tanh"} <= {op["label"] for op in ops}


def test_set_weight_changes_the_live_model_and_its_losses():
    s = Session("t", seed=1)
    before = s.test_loss
    s.handle({"type": "set_weight", "layer": 1, "i": 3, "j": 0, "value": -2.5})
    assert s.net.linears[1].weight.array[0, 3] == -2.5
    assert s.frame()["weights"][1][3][0] == -2.5  # the page's (in, out) layout
    with cr.no_grad():
        loss = s.net.evaluate(s.Xte, s.yte)
    assert s.test_loss == loss != before
    train(s, 1)  # training goes on from the new weight


@pytest.mark.parametrize("msg, match", [
    ({"layer": 3, "i": 0, "j": 0, "value": 1}, r"layer must be in \[0, 2\]"),
    ({"layer": 0, "i": 2, "j": 0, "value": 1}, r"i must be in \[0, 1\]"),
    ({"layer": 0, "i": 0, "j": 4, "value": 1}, r"j must be in \[0, 3\]"),
    ({"layer": 0, "i": 0, "j": 0, "value": float("nan")}, "finite"),
    ({"layer": 0, "i": 0, "j": 0, "value": 1e9}, r"weight must be in \[-100, 100\]"),
    ({"layer": 0, "i": 0, "j": 0, "value": "1"}, "weight must be a number"),
    ({"layer": 0.5, "i": 0, "j": 0, "value": 1}, "whole number"),
])
def test_set_weight_refuses_bad_values(msg, match):
    s = Session("t", seed=1)
    w = s.net.linears[0].weight.array.copy()
    (reply,) = s.handle_text(json.dumps({"type": "set_weight", **msg}))
    assert reply["type"] == "error" and re.search(match, reply["message"])
    np.testing.assert_array_equal(s.net.linears[0].weight.array, w)


def test_unexpected_errors_become_error_replies(monkeypatch):
    s = Session("t", seed=1)

    def broken(msg):
        raise RuntimeError("boom")

    monkeypatch.setattr(s, "handle", broken)
    (reply,) = s.handle_text('{"type": "play"}')
    assert reply == {"type": "error", "message": "internal error: RuntimeError: boom"}
