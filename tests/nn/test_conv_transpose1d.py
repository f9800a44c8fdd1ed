"""ConvTranspose1d / F.conv_transpose1d: PyTorch's outputs, gradients, shapes, init and errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck

F = cr.nn.functional

CONFIGS = [
    dict(stride=1, padding=0, output_padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, output_padding=1, dilation=1, groups=1),
    dict(stride=3, padding=2, output_padding=0, dilation=2, groups=1),
    dict(stride=2, padding=0, output_padding=1, dilation=1, groups=2),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_functional_gradcheck(cfg: dict) -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((2, 4, 5)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((4, 6 // cfg["groups"], 3)), requires_grad=True)
    b = cr.tensor(rng.standard_normal(6), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose1d(x, w, b, **cfg), (x, w, b))


@pytest.mark.parametrize("cfg", CONFIGS)
def test_module_matches_pytorch(cfg: dict) -> None:
    torch = pytest.importorskip("torch")
    cr.manual_seed(0)
    ours = cr.nn.ConvTranspose1d(4, 6, 3, **cfg)
    theirs = torch.nn.ConvTranspose1d(4, 6, 3, **cfg)
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(1).standard_normal((3, 4, 7)).astype(np.float32)
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yc, yt = ours(xc), theirs(xt)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = np.random.default_rng(2).standard_normal(yt.shape).astype(np.float32)
    yc.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-4,
                               atol=1e-4)


def test_unbatched_input_and_output_size() -> None:
    torch = pytest.importorskip("torch")
    m = cr.nn.ConvTranspose1d(2, 3, 3, stride=2)
    t = torch.nn.ConvTranspose1d(2, 3, 3, stride=2)
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    x = np.ones((2, 5), np.float32)
    assert m(cr.tensor(x)).shape == tuple(t(torch.tensor(x)).shape) == (3, 11)
    got = m(cr.tensor(x[None]), output_size=[12])
    want = t(torch.tensor(x[None]), output_size=[12])
    assert got.shape == tuple(want.shape) == (1, 3, 12)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_default_init_bound() -> None:
    w = cr.nn.ConvTranspose1d(4, 6, 5, groups=2).weight.detach().numpy()
    bound = 1 / np.sqrt(3 * 5)  # fan_in = weight.shape[1] * k, as PyTorch computes it
    assert w.shape == (4, 3, 5) and np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound


def test_errors_name_the_op() -> None:
    with pytest.raises(RuntimeError, match="conv_transpose1d: expected a 3-D weight"):
        F.conv_transpose1d(cr.ones(1, 2, 5), cr.ones(2, 3, 3, 3))
    with pytest.raises(ValueError, match="conv_transpose1d: output_padding"):
        F.conv_transpose1d(cr.ones(1, 2, 5), cr.ones(2, 3, 3), output_padding=2, stride=2)
    with pytest.raises(ValueError, match="ConvTranspose1d: padding must be"):
        cr.nn.ConvTranspose1d(2, 3, 3, padding="same")
