"""``cr.onnx.export``: the exported file run in ONNX Runtime gives chainrule's outputs to 1e-5,
also at other batch sizes along ``dynamic_axes``."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        return self.attn(x, x, x)[0]


class CausalAttention(nn.Module):
    """F.scaled_dot_product_attention with is_causal and a float mask, then tanh GELU."""

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        F = cr.nn.functional
        mask = cr.tensor(np.linspace(-1, 1, 25, dtype=np.float32).reshape(5, 5))
        y = F.scaled_dot_product_attention(x, x, x, is_causal=True)
        return F.gelu(F.scaled_dot_product_attention(y, x, x, attn_mask=mask), approximate="tanh")


class TinyCNN(nn.Module):
    """Python between the modules: a residual add, a view, a functional call."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.head = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        y = cr.nn.functional.relu(self.conv(x)) + x
        y = cr.nn.functional.max_pool2d(y, 2)
        return cr.log_softmax(self.head(y.view(y.shape[0], -1)), dim=-1)


def _floats(*shape: int) -> Callable[[int], cr.Tensor]:
    return lambda batch: cr.randn(batch, *shape)


def _seq_major(t: int, f: int) -> Callable[[int], cr.Tensor]:
    return lambda batch: cr.randn(t, batch, f)


# name: (model factory, example input maker, batch axis)
MODELS = {
    "linear_dropout": (lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5),
                                             nn.Linear(8, 3)), _floats(4), 0),
    "conv2d_bn_pools": (lambda: nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, stride=2), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)),
        _floats(3, 16, 16), 0),
    "conv1d_bn_pool": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4),
                                             nn.Tanh(), nn.MaxPool1d(2), nn.Flatten()),
                       _floats(3, 8), 0),
    "norms_activations": (lambda: nn.Sequential(
        nn.LayerNorm(6), nn.GELU(), nn.SiLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.Softplus(),
        nn.Sigmoid(), nn.Hardtanh(), nn.Softmax(-1), nn.LogSoftmax(-1)), _floats(6), 0),
    "embedding": (lambda: nn.Sequential(nn.Embedding(10, 4), nn.Flatten()),
                  lambda batch: cr.randint(0, 10, (batch, 3)), 0),
    "lstm_2_layers": (lambda: nn.LSTM(4, 6, num_layers=2, batch_first=True), _floats(5, 4), 0),
    "lstm_bidirectional": (lambda: nn.LSTM(4, 6, bidirectional=True), _seq_major(5, 4), 1),
    "lstm_no_bias": (lambda: nn.LSTM(4, 6, bias=False), _seq_major(5, 4), 1),
    "gru": (lambda: nn.GRU(4, 6), _seq_major(5, 4), 1),
    "multihead_attention": (SelfAttention, _floats(5, 8), 0),
    "causal_sdpa_tanh_gelu": (CausalAttention, _floats(5, 8), 0),
    "transformer_encoder_layer": (lambda: nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.1, batch_first=True), _floats(5, 8), 0),
    "transformer_norm_first_gelu": (lambda: nn.TransformerEncoderLayer(
        8, 2, 16, activation="gelu", norm_first=True, batch_first=True), _floats(5, 8), 0),
    "cnn_with_python_glue": (TinyCNN, _floats(3, 8, 8), 0),
    "padding_upsample_norms": (lambda: nn.Sequential(
        nn.ZeroPad2d(1), nn.Conv2d(3, 4, 3, padding="same"), nn.Upsample(scale_factor=2),
        nn.GroupNorm(2, 4), nn.InstanceNorm2d(4), nn.PReLU(), nn.Hardswish(), nn.SELU(),
        nn.Mish()), _floats(3, 6, 6), 0),
    "transformer_encoder_stack": (lambda: nn.Sequential(
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2),
        nn.Linear(8, 8)), _floats(5, 8), 0),
}


def _outputs(model: nn.Module, x: cr.Tensor) -> list[np.ndarray]:
    from chainrule.onnx.tracing import flatten_outputs

    model.eval()
    with cr.no_grad():
        return [t.numpy() for t in flatten_outputs(model(x), "test")]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_runtime_matches_chainrule(name: str, tmp_path: Path) -> None:
    make, example, batch_axis = MODELS[name]
    cr.manual_seed(0)
    model = make()
    x = example(3)
    n_out = len(_outputs(model, x))
    path = tmp_path / "m.onnx"
    model.train()
    cr.onnx.export(model, (x,), str(path), input_names=["x"],
                   output_names=[f"y{i}" for i in range(n_out)],
                   dynamic_axes={"x": {batch_axis: "batch"}})
    assert model.training  # exported in eval mode, mode restored
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (3, 7):
        xb = x if batch == 3 else example(batch)
        got = sess.run(None, {"x": xb.numpy()})
        want = _outputs(model, xb)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [13, 17, 18, 21])
def test_opsets_and_file_objects(opset: int) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Softplus(beta=2.0), nn.Linear(4, 2))
    x = cr.randn(2, 3)
    buf = io.BytesIO()
    cr.onnx.export(model, x, buf, opset_version=opset)
    proto = onnx.load_from_string(buf.getvalue())
    assert proto.opset_import[0].version == opset
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x.numpy()})[0], _outputs(model, x)[0],
                               rtol=1e-5, atol=1e-6)


def test_parameters_are_initializers_named_after_the_module(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    cr.onnx.export(model, cr.randn(1, 3), tmp_path / "m.onnx")
    names = {i.name for i in onnx.load(str(tmp_path / "m.onnx")).graph.initializer}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names


def test_bad_arguments(tmp_path: Path) -> None:
    model, x, f = nn.Linear(3, 2), cr.randn(1, 3), tmp_path / "m.onnx"
    with pytest.raises(ValueError, match="opset_version must be between 13 and 21, got 9"):
        cr.onnx.export(model, x, f, opset_version=9)
    with pytest.raises(ValueError, match="dynamic_axes names 'z', which is not an input"):
        cr.onnx.export(model, x, f, dynamic_axes={"z": [0]})
    with pytest.raises(ValueError, match="2 input_names given for 1 inputs"):
        cr.onnx.export(model, x, f, input_names=["a", "b"])
    with pytest.raises(TypeError, match="args must be a tensor or a tuple of tensors"):
        cr.onnx.export(model, [[1.0, 2.0, 3.0]], f)


def test_unsupported_ops_value_reads_and_in_place_writes_are_refused(tmp_path: Path) -> None:
    class Sorts(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x.cumsum(0)

    class Writes(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            y = x * 2
            y.add_(1.0)
            return y

    class Reads(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x * x.sum().item()

    with pytest.raises(RuntimeError, match="onnx.export: the forward calls item\\(\\) on a "
                                           "tensor; a trace would freeze that value"):
        cr.onnx.export(Reads(), cr.randn(3), tmp_path / "c.onnx")
    with pytest.raises(NotImplementedError, match="the op 'cumsum' .* has no ONNX conversion"):
        cr.onnx.export(Sorts(), cr.randn(3), tmp_path / "a.onnx")
    with pytest.raises(RuntimeError, match="writes into a tensor of shape \\(3,\\) in place"):
        cr.onnx.export(Writes(), cr.randn(3), tmp_path / "b.onnx")
