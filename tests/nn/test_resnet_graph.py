"""Residual blocks / small ResNet and graph message passing: gradients, PyTorch parity for the
ResNet, order invariance and equivariance for the graph layer, and the example end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.nn.modules.graph import GraphConv, aggregate, scatter_sum
from chainrule.vision.models.resnet import BasicBlock, CifarResNet, resnet_small


def _t(arr: np.ndarray, grad: bool = True) -> cr.Tensor:
    return cr.tensor(arr, dtype=cr.float64, requires_grad=grad)


# ---- ResNet -------------------------------------------------------------------------------
def test_basic_block_gradcheck_with_downsample(rng: np.random.Generator) -> None:
    from chainrule.nn.modules.batchnorm import BatchNorm2d
    from chainrule.nn.modules.container import Sequential
    from chainrule.nn.modules.conv import Conv2d

    cr.manual_seed(0)
    down = Sequential(Conv2d(2, 3, 1, stride=2, bias=False), BatchNorm2d(3))
    block = BasicBlock(2, 3, stride=2, downsample=down).double()
    x = _t(rng.standard_normal((2, 2, 4, 4)))
    gradcheck(lambda *_: block(x), [x, *block.parameters()])


def test_resnet_shapes_keys_and_errors() -> None:
    cr.manual_seed(0)
    m = resnet_small(8, num_classes=5, in_channels=1)
    assert m(cr.randn(2, 1, 12, 12)).shape == (2, 5)
    keys = list(m.state_dict())
    for k in ("conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight",
              "layer2.0.downsample.0.weight", "layer3.0.downsample.1.bias", "fc.weight"):
        assert k in keys
    assert "layer1.0.downsample.0.weight" not in keys  # same width, stride 1: identity
    with pytest.raises(ValueError, match="6n"):
        resnet_small(10)


def test_zero_init_residual_blocks_start_as_identity(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = CifarResNet((1,), widths=(4,), in_channels=4, zero_init_residual=True)
    block = m.layer1[0]
    x = cr.tensor(np.abs(rng.standard_normal((2, 4, 5, 5))).astype(np.float32))
    np.testing.assert_allclose(block(x).array, x.array, atol=1e-6)  # relu(0 + x), x ≥ 0


def test_resnet_matches_torch_twin(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TBlock(tnn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(cout))

        def forward(self, x: object) -> object:
            idt = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + idt)

    class TNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = tnn.Conv2d(2, 4, 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(4)
            self.relu = tnn.ReLU()
            self.layer1 = tnn.Sequential(TBlock(4, 4, 1))
            self.layer2 = tnn.Sequential(TBlock(4, 8, 2))
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(8, 3)

        def forward(self, x: object) -> object:
            x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
            return self.fc(self.avgpool(x).flatten(1))

    cr.manual_seed(0)
    m = CifarResNet((1, 1), num_classes=3, in_channels=2, widths=(4, 8)).double()
    tm = TNet().double()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in
                        m.state_dict().items()})
    x = rng.standard_normal((3, 2, 6, 6))
    xc, xt = _t(x), torch.tensor(x, requires_grad=True)
    out, tout = m(xc), tm(xt)
    np.testing.assert_allclose(out.array, tout.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(out.shape)
    (out * cr.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xc.grad.array, xt.grad.numpy(), atol=1e-10)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[name].grad.numpy(), atol=1e-10,
                                   err_msg=name)
    m.eval()
    tm.eval()  # running statistics after one training pass agree too
    np.testing.assert_allclose(m(_t(x, False)).array, tm(torch.tensor(x)).detach().numpy(),
                               atol=1e-10)


# ---- graphs -------------------------------------------------------------------------------
EDGES = np.array([[0, 1, 2, 3, 0, 4, 4], [1, 2, 1, 1, 3, 3, 3]])  # node 0 has no in-edges


def _reference(x: np.ndarray, edges: np.ndarray, aggr: str) -> np.ndarray:
    out = np.zeros_like(x)
    for i in range(len(x)):
        nb = edges[0][edges[1] == i]
        if len(nb):
            out[i] = {"sum": np.sum, "mean": np.mean, "max": np.max}[aggr](x[nb], 0)
    return out


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_aggregate_reference_and_gradcheck(aggr: str, rng: np.random.Generator) -> None:
    x = _t(rng.standard_normal((5, 3)))
    out = aggregate(x, EDGES, aggr)
    np.testing.assert_allclose(out.array, _reference(x.array, EDGES, aggr), atol=1e-12)
    gradcheck(lambda a: aggregate(a, EDGES, aggr), [x])


def test_scatter_sum_counts_duplicates() -> None:
    src = cr.tensor([[1.0], [2.0], [4.0]])
    np.testing.assert_array_equal(scatter_sum(src, np.array([2, 2, 0]), 3).array,
                                  [[4.0], [0.0], [3.0]])


@given(seed=st.integers(0, 10_000), aggr=st.sampled_from(["sum", "mean", "max"]))
def test_edge_order_invariance_is_exact(seed: int, aggr: str) -> None:
    rng = np.random.default_rng(seed)
    x = cr.tensor(rng.standard_normal((20, 4)).astype(np.float32))
    edges = rng.integers(0, 20, (2, 120))
    ref = aggregate(x, edges, aggr).array
    perm = rng.permutation(edges.shape[1])
    np.testing.assert_array_equal(aggregate(x, edges[:, perm], aggr).array, ref)


@given(seed=st.integers(0, 10_000))
def test_graphconv_node_relabelling_equivariance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cr.manual_seed(0)
    conv = GraphConv(3, 2, aggr="mean").double()
    x = rng.standard_normal((8, 3))
    edges = rng.integers(0, 8, (2, 20))
    p = rng.permutation(8)            # new node i is old node p[i]
    inv = np.argsort(p)
    out = conv(_t(x, False), edges).array
    out_p = conv(_t(x[p], False), inv[edges]).array
    np.testing.assert_allclose(out_p, out[p], atol=1e-12)


def test_graphconv_gradcheck_and_formula(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    conv = GraphConv(3, 2).double()
    x = _t(rng.standard_normal((5, 3)))
    gradcheck(lambda *_: conv(x, cr.tensor(EDGES)), [x, *conv.parameters()])
    out = conv(x, EDGES).array
    agg = _reference(x.array, EDGES, "sum")
    ref = (agg @ conv.lin_rel.weight.array.T + conv.lin_rel.bias.array
           + x.array @ conv.lin_root.weight.array.T)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    assert sorted(conv.state_dict()) == ["lin_rel.bias", "lin_rel.weight", "lin_root.weight"]


def test_graph_errors() -> None:
    conv = GraphConv(3, 2)
    with pytest.raises(ValueError, match="edge_index"):
        conv(cr.zeros(4, 3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="outside"):
        conv(cr.zeros(4, 3), np.array([[0, 1], [2, 4]]))
    with pytest.raises(ValueError, match="aggr"):
        GraphConv(3, 2, aggr="median")


def test_node_classification_example_beats_mlp() -> None:
    sys.path.insert(0, str(Path(__file__).parents[2] / "examples"))
    try:
        from graph_node_classification import run
    finally:
        sys.path.pop(0)
    r = run()  # the example's defaults: 600 nodes, 3 communities, 10 % labelled
    assert r["graphconv"] > 0.85
    assert r["graphconv"] > r["mlp"] + 0.3
