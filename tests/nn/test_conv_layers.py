"""ConvNet layers: Conv1d/Conv2d/ConvTranspose2d, pooling, BatchNorm2d on feature maps and
Dropout2d — init, reprs, state_dict keys, PyTorch parity of outputs and gradients with identical
weights, and a tiny ConvNet that learns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import BatchNorm2d, Flatten, Linear, ReLU, Sequential
from chainrule.nn.functional import dropout2d
from chainrule.nn.modules.conv import Conv1d, Conv2d, ConvTranspose2d
from chainrule.nn.modules.dropout import Dropout2d
from chainrule.nn.modules.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)

RNG = np.random.default_rng(0)


def test_default_init_bounds_and_shapes() -> None:
    cr.manual_seed(0)
    conv = Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert conv.weight.dtype == np.float32
    w = conv.weight.array
    assert np.abs(w).max() <= bound and np.abs(conv.bias.array).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # uniform, not normal
    t = ConvTranspose2d(4, 6, 3, groups=2)
    assert t.weight.shape == (4, 3, 3, 3)
    assert np.abs(t.weight.array).max() <= 1 / math.sqrt(3 * 9)
    cr.manual_seed(0)
    again = Conv2d(16, 32, 3)
    np.testing.assert_array_equal(again.weight.array, w)
    assert Conv2d(2, 4, 3, bias=False).bias is None
    assert Conv1d(4, 6, 5, groups=2).weight.shape == (6, 2, 5)


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="divisible by groups"):
        Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be 'same', 'valid'"):
        Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="strided"):
        Conv2d(3, 4, 3, stride=2, padding="same")


REPRS: list[tuple[str, str]] = [
    ("Conv2d(1, 16, 3)", "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1))"),
    ("Conv2d(4, 8, (3, 5), stride=2, padding=(1, 2), dilation=2, groups=4, bias=False)", ""),
    ("Conv2d(2, 2, 3, padding='same')", ""),
    ("Conv1d(2, 4, 3, padding=1)", ""),
    ("ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)", ""),
    ("MaxPool2d(2)", "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                     "ceil_mode=False)"),
    ("MaxPool2d(3, 2, 1, ceil_mode=True)", ""),
    ("AvgPool2d(2)", ""),
    ("AvgPool1d(3, 2)", ""),
    ("AdaptiveAvgPool2d((5, 7))", ""),
    ("Dropout2d(0.25)", ""),
]


@pytest.mark.parametrize("expr,want", REPRS, ids=[r[0] for r in REPRS])
def test_repr_like_torch(expr: str, want: str) -> None:
    ours = repr(eval(expr))
    if want:
        assert ours == want
    torch = pytest.importorskip("torch")
    assert ours == repr(eval(expr, {}, vars(torch.nn)))


def _parity(make: Any, x: np.ndarray, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """Same weights (torch's, via load_state_dict): same output, input and weight grads."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)  # fixed weights: a ReLU output within rounding of 0 can flip a max-pool
    tm = make(torch.nn)   # window's winner between the libraries, and with it the gradient path
    cm = make(_OURS)
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    assert list(cm.state_dict()) == list(tm.state_dict())
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    cy, ty = cm(cx), tm(tx)
    np.testing.assert_allclose(cy.array, ty.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.standard_normal(cy.shape).astype(np.float32)
    cy.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(cx.grad.array, tx.grad.numpy(), rtol=rtol * 10, atol=atol * 10)
    tparams = dict(tm.named_parameters())
    for name, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.array, tparams[name].grad.numpy(), rtol=rtol * 10,
                                   atol=atol * 10, err_msg=name)


class _Ours:
    """Our layer classes by torch's names (until ``cr.nn`` re-exports them)."""

    Conv1d, Conv2d, ConvTranspose2d = Conv1d, Conv2d, ConvTranspose2d
    MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d = MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d
    AdaptiveAvgPool1d, AdaptiveAvgPool2d = AdaptiveAvgPool1d, AdaptiveAvgPool2d
    BatchNorm2d, Sequential, ReLU, Flatten, Linear = BatchNorm2d, Sequential, ReLU, Flatten, Linear


_OURS = _Ours()

IMAGES = RNG.standard_normal((4, 6, 11, 10)).astype(np.float32)
LAYERS: list[tuple[str, Any, np.ndarray]] = [
    ("Conv2d", lambda nn: nn.Conv2d(6, 8, 3), IMAGES),
    ("Conv2d-strided-grouped", lambda nn: nn.Conv2d(6, 4, (3, 2), 2, (1, 0), 2, 2), IMAGES),
    ("Conv2d-same", lambda nn: nn.Conv2d(6, 6, 4, padding="same", groups=6), IMAGES),
    ("Conv1d", lambda nn: nn.Conv1d(6, 4, 3, stride=2, padding=1), IMAGES[:, :, 0]),
    ("ConvTranspose2d", lambda nn: nn.ConvTranspose2d(6, 4, 3, 2, 1, 1), IMAGES),
    ("ConvTranspose2d-grouped", lambda nn: nn.ConvTranspose2d(6, 4, (2, 3), 1, 0, 0, 2, True, 2),
     IMAGES),
    ("MaxPool2d", lambda nn: nn.MaxPool2d(2), IMAGES),
    ("MaxPool2d-overlap", lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), IMAGES),
    ("MaxPool1d", lambda nn: nn.MaxPool1d(3, 2), IMAGES[:, :, 0]),
    ("AvgPool2d", lambda nn: nn.AvgPool2d(3, 2, 1, count_include_pad=False), IMAGES),
    ("AvgPool1d", lambda nn: nn.AvgPool1d(2), IMAGES[:, :, 0]),
    ("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((4, 3)), IMAGES),
    ("AdaptiveAvgPool1d", lambda nn: nn.AdaptiveAvgPool1d(3), IMAGES[:, :, 0]),
    ("worksheet-stack", lambda nn: nn.Sequential(nn.Conv2d(6, 16, 3), nn.ReLU(),
                                                 nn.Conv2d(16, 32, 3), nn.ReLU(),
                                                 nn.MaxPool2d(2), nn.Flatten(),
                                                 nn.Linear(32 * 3 * 3, 10)), IMAGES),
]


@pytest.mark.parametrize("make,x", [(m, x) for _, m, x in LAYERS], ids=[n for n, _, _ in LAYERS])
def test_layer_matches_torch(make: Any, x: np.ndarray) -> None:
    _parity(make, x)


def test_batchnorm2d_on_feature_maps_matches_torch() -> None:
    """Batch statistics over (N, H, W): biased variance to normalise, unbiased for running_var;
    train, train, then eval on running statistics."""
    torch = pytest.importorskip("torch")
    tm = torch.nn.BatchNorm2d(6, momentum=0.2)
    cm = BatchNorm2d(6, momentum=0.2)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-0.5, 0.5)
    cm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    for step in range(3):
        if step == 2:
            tm.eval()
            cm.eval()
        x = (RNG.standard_normal((4, 6, 5, 5)) * 3 + 1).astype(np.float32)
        cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        cy, ty = cm(cx), tm(tx)
        np.testing.assert_allclose(cy.array, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
        g = RNG.standard_normal(x.shape).astype(np.float32)
        cy.backward(cr.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(cx.grad.array, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(cm.running_var.array, tm.running_var.numpy(), rtol=1e-5)
        np.testing.assert_allclose(cm.running_mean.array, tm.running_mean.numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert int(cm.num_batches_tracked.item()) == 2


def test_dropout2d_zeroes_whole_channels() -> None:
    cr.manual_seed(1)
    x = cr.ones(8, 16, 5, 5, requires_grad=True)
    layer = Dropout2d(0.5)
    y = layer(x)
    per_channel = y.array.reshape(8, 16, -1)
    assert np.all(per_channel.min(-1) == per_channel.max(-1))  # each channel constant
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    dropped = (per_channel[..., 0] == 0).mean()
    assert 0.3 < dropped < 0.7
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)  # gradient through the same mask
    layer.eval()
    assert layer(x) is x
    assert dropout2d(x, 0.0) is x
    assert np.all(dropout2d(x, 1.0).array == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Dropout2d(1.5)


def test_tiny_convnet_learns() -> None:
    """Conv → ReLU → MaxPool → Linear fits 16 random 8×8 images to labels with Adam."""
    cr.manual_seed(0)
    net = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Conv2d(8, 8, 3),
                     ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(8, 3))
    x = cr.randn(16, 1, 8, 8)
    y = cr.tensor(RNG.integers(0, 3, 16))
    opt = cr.optim.Adam(net.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = cr.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
