"""Parity with PyTorch for the 3-D layers and adaptive max pooling: with identical weights
(through the PyTorch-compatible state_dict), outputs, indices and the gradients of the input
and of every parameter agree (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

ATOL = 1e-10


def _compare(m: cr.nn.Module, tm: Any, x: np.ndarray, rng: np.random.Generator,
             **call: Any) -> None:
    """Load chainrule's weights into torch, run both on x, backpropagate the same cotangent."""
    tm.double()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in
                        m.state_dict().items()})
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    co, to = m(cx, **call), tm(tx, **call)
    if isinstance(to, tuple):  # (values, indices)
        np.testing.assert_array_equal(co[1].array, to[1].numpy())
        co, to = co[0], to[0]
    np.testing.assert_allclose(co.array, to.detach().numpy(), atol=ATOL, rtol=1e-7)
    g = rng.standard_normal(tuple(to.shape))
    (co * cr.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(cx.grad.array, tx.grad.numpy(), atol=ATOL, rtol=1e-7)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[name].grad.numpy(), atol=ATOL, rtol=1e-7,
                                   err_msg=name)
    for name, b in m.named_buffers():
        np.testing.assert_allclose(b.array, dict(tm.named_buffers())[name].numpy(), atol=ATOL,
                                   rtol=1e-7, err_msg=name)


CONV3D = [
    {"in_channels": 2, "out_channels": 4, "kernel_size": 3},
    {"in_channels": 4, "out_channels": 6, "kernel_size": (2, 3, 1), "stride": (2, 1, 2),
     "padding": (1, 0, 1), "dilation": (1, 2, 1), "groups": 2},
    {"in_channels": 3, "out_channels": 2, "kernel_size": 2, "padding": "same", "bias": False},
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kwargs", CONV3D)
def test_conv3d(kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    cr.manual_seed(0)
    m = nn.Conv3d(**kwargs, dtype=cr.float64)
    x = rng.standard_normal((2, kwargs["in_channels"], 5, 6, 4))
    _compare(m, torch.nn.Conv3d(**kwargs), x, rng)


@pytest.mark.parametrize("kwargs", [
    {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1,
     "output_padding": 1},
    {"in_channels": 4, "out_channels": 2, "kernel_size": (2, 1, 3), "stride": (1, 2, 1),
     "groups": 2, "dilation": (2, 1, 1)},
])
def test_conv_transpose3d(kwargs: dict) -> None:
    rng = np.random.default_rng(1)
    cr.manual_seed(1)
    m = nn.ConvTranspose3d(**kwargs, dtype=cr.float64)
    x = rng.standard_normal((2, kwargs["in_channels"], 3, 4, 3))
    _compare(m, torch.nn.ConvTranspose3d(**kwargs), x, rng)


@pytest.mark.parametrize("cls, kwargs", [
    ("MaxPool3d", {"kernel_size": 2}),
    ("MaxPool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "return_indices": True}),
    ("MaxPool3d", {"kernel_size": (2, 3, 2), "stride": (1, 2, 3), "dilation": (2, 1, 1),
                   "return_indices": True}),
    ("AvgPool3d", {"kernel_size": 2}),
    ("AvgPool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False}),
    ("AvgPool3d", {"kernel_size": (3, 2, 3), "stride": (2, 1, 2), "padding": (1, 0, 1),
                   "ceil_mode": True, "divisor_override": 7}),
    ("AdaptiveMaxPool2d", {"output_size": (3, 4), "return_indices": True}),
    ("AdaptiveMaxPool2d", {"output_size": (None, 2)}),
    ("AdaptiveMaxPool2d", {"output_size": 9, "return_indices": True}),
    ("AdaptiveMaxPool1d", {"output_size": 4, "return_indices": True}),
    ("AdaptiveAvgPool3d", {"output_size": (3, None, 2)}),
    ("AdaptiveAvgPool3d", {"output_size": 1}),
])
def test_pooling(cls: str, kwargs: dict) -> None:
    rng = np.random.default_rng(2)
    shape = {"AdaptiveMaxPool1d": (2, 3, 11), "AdaptiveMaxPool2d": (2, 3, 7, 6)}.get(
        cls, (2, 3, 7, 6, 5))
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01  # no ties
    _compare(getattr(nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs), x, rng)


def test_adaptive_max_pool_ties() -> None:
    """Ties resolve to the first maximum in row-major order, in values, indices and
    gradients."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, (2, 2, 6, 7)).astype(np.float64)
    _compare(nn.AdaptiveMaxPool2d((4, 3), return_indices=True),
             torch.nn.AdaptiveMaxPool2d((4, 3), return_indices=True), x, rng)


@pytest.mark.parametrize("train", [True, False])
def test_instance_norm3d(train: bool) -> None:
    rng = np.random.default_rng(5)
    kwargs = {"affine": True, "track_running_stats": True, "momentum": 0.2}
    m = nn.InstanceNorm3d(3, dtype=cr.float64, **kwargs)
    m.weight.array[...] = rng.uniform(0.5, 1.5, 3)
    m.bias.array[...] = rng.standard_normal(3)
    m.running_var.array[...] = rng.uniform(0.5, 2.0, 3)
    tm = torch.nn.InstanceNorm3d(3, **kwargs)
    m.train(train)
    tm.train(train)
    _compare(m, tm, rng.standard_normal((2, 3, 3, 2, 4)) * 2 + 1, rng)


@pytest.mark.parametrize("train", [True, False])
def test_batch_norm3d(train: bool) -> None:
    rng = np.random.default_rng(4)
    m = nn.BatchNorm3d(3, momentum=0.3, dtype=cr.float64)
    m.weight.array[...] = rng.uniform(0.5, 1.5, 3)
    m.bias.array[...] = rng.standard_normal(3)
    m.running_mean.array[...] = rng.standard_normal(3)
    m.running_var.array[...] = rng.uniform(0.5, 2.0, 3)
    tm = torch.nn.BatchNorm3d(3, momentum=0.3)
    m.train(train)
    tm.train(train)
    _compare(m, tm, rng.standard_normal((4, 3, 3, 2, 4)) * 2 + 1, rng)
