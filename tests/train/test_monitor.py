"""``TrainingMonitor``: recorded norms and the named error when training goes non-finite."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.train.monitor import TrainingMonitor


def _net() -> nn.Module:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _backward(net: nn.Module) -> cr.Tensor:
    net.zero_grad()
    loss = nn.functional.cross_entropy(net(cr.randn(6, 3)), cr.tensor([0, 1, 0, 1, 1, 0]))
    loss.backward()
    return loss


def test_records_loss_and_norms_per_parameter_and_layer() -> None:
    net = _net()
    mon = TrainingMonitor(net)
    loss = _backward(net)
    rec = mon.step(loss)
    assert rec["step"] == 0 and rec["loss"] == pytest.approx(loss.item())
    assert list(rec["grad_norm"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    w = net[0].weight
    assert rec["weight_norm"]["0.weight"] == pytest.approx(np.linalg.norm(w.array), rel=1e-6)
    assert rec["grad_norm"]["2.bias"] == pytest.approx(np.linalg.norm(net[2].bias.grad.array),
                                                       rel=1e-6)
    layers = mon.per_layer()
    assert set(layers) == {"0", "2"}
    assert layers["0"] == pytest.approx(math.hypot(rec["grad_norm"]["0.weight"],
                                                   rec["grad_norm"]["0.bias"]))
    mon.step(_backward(net))
    assert len(mon.series("0.weight")) == 2 and mon.history[1]["step"] == 1


def test_names_the_first_nonfinite_gradient() -> None:
    net = _net()
    mon = TrainingMonitor(net)
    _backward(net)
    net[2].weight.grad.array[0, 1] = np.inf
    with pytest.raises(FloatingPointError, match=r"step 0.*gradient of parameter '2\.weight' "
                                                 r"\(shape \(2, 4\)\) became Inf"):
        mon.step(1.0)
    assert len(mon.history) == 1  # recorded before raising


def test_names_nonfinite_weights_and_loss() -> None:
    net = _net()
    mon = TrainingMonitor(net)
    net[0].bias.array[2] = np.nan
    with pytest.raises(FloatingPointError, match=r"'0\.bias' \(shape \(4,\)\) became NaN"):
        mon.step()
    with pytest.raises(FloatingPointError, match="the loss became NaN"):
        TrainingMonitor(_net()).step(float("nan"))
    quiet = TrainingMonitor(net, check_finite=False)
    assert math.isnan(quiet.step()["weight_norm"]["0.bias"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_watch_activations_names_the_layer() -> None:
    net = _net()
    with TrainingMonitor(net, watch_activations=True):
        net(cr.randn(2, 3))  # fine
        net[2].weight.array[0, 0] = np.inf
        with pytest.raises(FloatingPointError, match=r"output of layer '2' \(Linear\) became"):
            net(cr.ones(2, 3))
    assert "forward" not in net[2].__dict__  # close() restored the modules
    net(cr.ones(2, 3))  # no check any more


def test_as_callback_steps_after_each_batch() -> None:
    net = _net()
    mon = TrainingMonitor(net)
    cb = mon.as_callback()
    _backward(net)
    cb.on_train_batch_end(0, {"loss": 0.7})
    assert mon.history[0]["loss"] == 0.7 and mon.history[0]["grad_norm"]
