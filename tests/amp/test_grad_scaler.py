"""``cr.amp.GradScaler``: PyTorch's scale trajectory, skipped steps, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def _model_and_opt(seed: int = 0) -> tuple[cr.nn.Module, cr.optim.Optimizer]:
    cr.manual_seed(seed)
    net = cr.nn.Linear(3, 2)
    return net, cr.optim.SGD(net.parameters(), lr=0.1)


def _iteration(scaler: cr.amp.GradScaler, net: cr.nn.Module, opt: cr.optim.Optimizer,
               poison: bool = False) -> object:
    opt.zero_grad()
    x = cr.randn(4, 3)
    if poison:
        x = x * float("inf")
    scaler.scale(net(x).pow(2).mean()).backward()
    out = scaler.step(opt)
    scaler.update()
    return out


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_scale_trajectory_and_weights_match_torch() -> None:
    torch = pytest.importorskip("torch")
    net, opt = _model_and_opt()
    tnet = torch.nn.Linear(3, 2)
    with torch.no_grad():
        tnet.weight.copy_(torch.from_numpy(net.weight.detach().numpy()))
        tnet.bias.copy_(torch.from_numpy(net.bias.detach().numpy()))
    topt = torch.optim.SGD(tnet.parameters(), lr=0.1)
    kwargs = dict(init_scale=2.0**10, growth_factor=3.0, backoff_factor=0.25, growth_interval=3)
    scaler, tscaler = cr.amp.GradScaler("cpu", **kwargs), torch.amp.GradScaler("cpu", **kwargs)
    rng = np.random.default_rng(0)
    poisoned = {2, 6, 7, 12}
    scales, tscales = [], []
    for step in range(16):
        x = rng.standard_normal((4, 3)).astype(np.float32)
        if step in poisoned:
            x[1, 2] = np.nan if step % 2 else np.inf
        for s, model, o, mk in ((scaler, net, opt, cr.tensor), (tscaler, tnet, topt,
                                                                  torch.from_numpy)):
            o.zero_grad()
            s.scale(model(mk(x)).pow(2).mean()).backward()
            s.step(o)
            s.update()
        scales.append(scaler.get_scale())
        tscales.append(tscaler.get_scale())
        if step == 9:  # a user-set scale
            scaler.update(5.0)
            tscaler.update(5.0)
    assert scales == tscales
    assert scaler.state_dict() == tscaler.state_dict()
    np.testing.assert_allclose(net.weight.detach().numpy(), tnet.weight.detach().numpy(),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_step_with_inf_gradients_is_skipped_and_scale_backs_off() -> None:
    net, opt = _model_and_opt()
    scaler = cr.amp.GradScaler(init_scale=8.0)
    before = net.weight.detach().numpy().copy()
    assert _iteration(scaler, net, opt, poison=True) is None
    np.testing.assert_array_equal(net.weight.detach().numpy(), before)
    assert scaler.get_scale() == 4.0
    _iteration(scaler, net, opt)
    assert not np.array_equal(net.weight.detach().numpy(), before)


def test_unscale_divides_the_gradients_by_the_scale() -> None:
    net, opt = _model_and_opt()
    x = cr.randn(4, 3)
    net(x).sum().backward()
    plain = net.weight.grad.numpy().copy()
    opt.zero_grad()
    scaler = cr.amp.GradScaler(init_scale=256.0)
    scaler.scale(net(x).sum()).backward()
    np.testing.assert_allclose(net.weight.grad.numpy(), plain * 256.0, rtol=1e-6)
    scaler.unscale_(opt)
    np.testing.assert_allclose(net.weight.grad.numpy(), plain, rtol=1e-6)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)


def test_errors_and_the_disabled_scaler() -> None:
    net, opt = _model_and_opt()
    scaler = cr.amp.GradScaler()
    with pytest.raises(RuntimeError, match="call scaler.scale\\(loss\\)"):
        scaler.step(opt)
    scaler.scale(net(cr.randn(2, 3)).sum()).backward()
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0.0)
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        scaler.update()
    with pytest.raises(ValueError, match="growth_factor must be > 1.0, got 1.0"):
        cr.amp.GradScaler(growth_factor=1.0)
    with pytest.warns(UserWarning, match="cuda is not available .*Disabling"):
        assert not cr.amp.GradScaler("cuda").is_enabled()
    off = cr.amp.GradScaler(enabled=False)
    loss = net(cr.randn(2, 3)).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}


def test_scale_of_several_outputs_and_fp16_gradients() -> None:
    scaler = cr.amp.GradScaler(init_scale=4.0)
    a, b = scaler.scale([cr.ones(2), cr.ones(3)])
    assert a.tolist() == [4.0, 4.0] and b.tolist() == [4.0] * 3
    net = cr.nn.Linear(2, 1).half()
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    scaler.scale(net(cr.ones(1, 2).half()).sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        scaler.unscale_(opt)


def test_state_dict_round_trip() -> None:
    net, opt = _model_and_opt()
    scaler = cr.amp.GradScaler(init_scale=16.0, growth_interval=2)
    for _ in range(3):
        _iteration(scaler, net, opt)
    state = scaler.state_dict()
    assert state == {"scale": 32.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                     "growth_interval": 2, "_growth_tracker": 1}
    other = cr.amp.GradScaler()
    other.load_state_dict(state)
    assert other.state_dict() == state
    _iteration(other, net, opt)
    assert other.get_scale() == 64.0
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        cr.amp.GradScaler().load_state_dict({})
