"""Parity with PyTorch for ``parametrizations.weight_norm``/``spectral_norm`` and the hook-based
``nn.utils.weight_norm``: the same state_dict keys, and with identical weights (and power
iteration vectors) the same outputs, gradients of every original, and u/v after each
training-mode step (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.utils import parametrizations as P
from chainrule.nn.utils import parametrize, remove_weight_norm, weight_norm

torch = pytest.importorskip("torch")
TP = torch.nn.utils.parametrizations

LAYERS = [
    ("Linear", (5, 4), (3, 5)),
    ("Conv2d", (3, 4, 3), (2, 3, 5, 5)),
    ("ConvTranspose2d", (3, 4, 2), (2, 3, 3, 3)),
    ("Conv1d", (2, 3, 3), (2, 2, 6)),
]


def _pair(layer: str, args: tuple, wrap: Any, twrap: Any, **kw: Any) -> tuple[Any, Any]:
    m = wrap(getattr(cr.nn, layer)(*args).double(), **kw)
    tm = twrap(getattr(torch.nn, layer)(*args).double(), **kw)
    assert list(m.state_dict()) == list(tm.state_dict())
    tm.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in
                        m.state_dict().items()})
    return m, tm


def _step(m: Any, tm: Any, shape: tuple, rng: np.random.Generator) -> None:
    x = rng.standard_normal(shape)
    cx, tx = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(cx), tm(tx)
    np.testing.assert_allclose(y.array, ty.detach().numpy(), atol=1e-12, rtol=1e-9)
    g = rng.standard_normal(tuple(ty.shape))
    (y * cr.tensor(g)).sum().backward()
    (ty * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(cx.grad.array, tx.grad.numpy(), atol=1e-12, rtol=1e-9)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[name].grad.numpy(), atol=1e-11, rtol=1e-9,
                                   err_msg=name)
    tb = dict(tm.named_buffers())
    for name, b in m.named_buffers():
        np.testing.assert_allclose(b.array, tb[name].numpy(), atol=1e-12, rtol=1e-9,
                                   err_msg=name)
    m.zero_grad()
    tm.zero_grad()


@pytest.mark.parametrize("layer, args, shape", LAYERS)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(layer: str, args: tuple, shape: tuple, dim: Any) -> None:
    rng = np.random.default_rng(0)
    m, tm = _pair(layer, args, P.weight_norm, TP.weight_norm, dim=dim)
    _step(m, tm, shape, rng)
    parametrize.remove_parametrizations(m, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(tm, "weight")
    np.testing.assert_allclose(m.weight.array, tm.weight.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("layer, args, shape", LAYERS)
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_spectral_norm(layer: str, args: tuple, shape: tuple, n_power_iterations: int) -> None:
    rng = np.random.default_rng(1)
    m, tm = _pair(layer, args, P.spectral_norm, TP.spectral_norm,
                  n_power_iterations=n_power_iterations)
    for train in (True, True, False):  # two power-iteration steps, then the frozen estimate
        m.train(train)
        tm.train(train)
        _step(m, tm, shape, rng)


@pytest.mark.filterwarnings("ignore:.*torch.nn.utils.weight_norm.*deprecated")
@pytest.mark.parametrize("dim", [0, 1, None])
def test_hook_weight_norm(dim: Any) -> None:
    rng = np.random.default_rng(2)
    m, tm = _pair("Conv1d", (2, 3, 3), weight_norm, torch.nn.utils.weight_norm, dim=dim)
    _step(m, tm, (2, 2, 6), rng)
    remove_weight_norm(m)
    torch.nn.utils.remove_weight_norm(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    np.testing.assert_allclose(m.weight.array, tm.weight.detach().numpy(), atol=1e-12)
