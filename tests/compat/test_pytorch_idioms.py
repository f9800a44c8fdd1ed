"""Everyday PyTorch idioms run unchanged: device boilerplate, inference mode, bare decorators,
module forward hooks, parameter containers, random sampling."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


def test_device_boilerplate_selects_the_cpu() -> None:
    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    assert device == cr.device("cpu") == "cpu" and str(device) == "cpu"
    model = nn.Linear(3, 2).to(device)
    x = cr.zeros(4, 3, device=device)
    assert model(x).shape == (4, 2)
    assert cr.device("cuda:1") == cr.device("cuda", 1) and repr(cr.device("cuda", 1)) == \
        "device(type='cuda', index=1)"
    assert cr.cuda.device_count() == 0


@pytest.mark.parametrize("call", [
    lambda: cr.zeros(2, device="cuda"),
    lambda: cr.randn(2, device=cr.device("cuda:0")),
    lambda: cr.arange(3, device="cuda"),
    lambda: nn.Linear(2, 2).to("cuda"),
    lambda: nn.Linear(2, 2).cuda(),
])
def test_other_devices_are_refused_clearly(call) -> None:
    with pytest.raises(RuntimeError, match="chainrule computes on the CPU"):
        call()


def test_bad_device_strings() -> None:
    with pytest.raises(RuntimeError, match="device type"):
        cr.device("gpu")
    with pytest.raises(RuntimeError, match="Invalid device string"):
        cr.device("cuda:x")


def test_module_to_dtype_and_tensor() -> None:
    m = nn.Linear(2, 2).to("cpu", cr.float64)
    assert m.weight.dtype == np.float64
    m.to(cr.ones(1))  # a tensor's dtype
    assert m.weight.dtype == np.float32
    m.to(device="cpu", dtype=cr.float64)
    assert m.bias.dtype == np.float64


def test_inference_mode_and_bare_decorators() -> None:
    w = cr.ones(2, requires_grad=True)
    with cr.inference_mode():
        assert not (w * 2).requires_grad
    with cr.inference_mode(False):
        assert (w * 2).requires_grad

    @cr.inference_mode()
    def infer():
        return w * 2

    @cr.no_grad
    def bare():
        return w * 2

    @cr.enable_grad
    def bare_enable():
        return w * 2

    assert not infer().requires_grad and not bare().requires_grad
    with cr.no_grad():
        assert bare_enable().requires_grad
    assert cr.is_grad_enabled()


def test_forward_hooks_see_and_replace_values() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    seen = {}
    handle = model[1].register_forward_hook(
        lambda mod, args, out: seen.__setitem__("relu", out.detach()))
    pre = model[0].register_forward_pre_hook(lambda mod, args: (args[0] * 0.0,))
    out = model(cr.randn(5, 3))
    assert seen["relu"].shape == (5, 4)
    # the pre-hook zeroed the input, so the first layer gives its bias
    np.testing.assert_allclose(seen["relu"].numpy(),
                               np.maximum(np.broadcast_to(model[0].bias.detach().numpy(),
                                                          (5, 4)), 0), rtol=1e-6)
    replace = model.register_forward_hook(lambda mod, args, out: out * 0.0)
    assert float(model(cr.randn(5, 3)).abs().sum().item()) == 0.0
    for h in (handle, pre, replace):
        h.remove()
    seen.clear()
    assert model(cr.randn(5, 3)).shape == out.shape and not seen


def test_forward_hook_gradients_flow() -> None:
    lin = nn.Linear(2, 2)
    lin.register_forward_hook(lambda mod, args, out: out * 3.0)
    lin(cr.ones(1, 2)).sum().backward()
    np.testing.assert_allclose(lin.bias.grad.numpy(), [3.0, 3.0])


def test_parameter_containers_register_and_train() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ws = nn.ParameterList([cr.ones(2), nn.Parameter(cr.zeros(2))])
            self.named = nn.ParameterDict({"scale": cr.ones(1)})

        def forward(self, x):
            return (x * self.ws[0] + self.ws[1]) * self.named["scale"]

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["ws.0", "ws.1", "named.scale"]
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    opt = cr.optim.SGD(net.parameters(), lr=0.1)
    net(cr.ones(2)).sum().backward()
    opt.step()
    np.testing.assert_allclose(net.ws[1].detach().numpy(), [-0.1, -0.1])
    assert set(net.state_dict()) == {"ws.0", "ws.1", "named.scale"}
    with pytest.raises(TypeError, match="parameter"):
        nn.ParameterList([1.0])


def test_parameter_container_keys_match_pytorch() -> None:
    torch = pytest.importorskip("torch")

    class Ours(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.ParameterList([cr.ones(2)])
            self.b = nn.ParameterDict({"k": cr.ones(1)})

    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.ParameterList([torch.ones(2)])
            self.b = torch.nn.ParameterDict({"k": torch.ones(1)})

    assert list(Ours().state_dict()) == list(Theirs().state_dict())


def test_bernoulli_and_multinomial() -> None:
    g = cr.Generator(0)
    draws = cr.bernoulli(cr.full((20000,), 0.3), generator=g)
    assert draws.dtype == np.float32 and abs(draws.mean().item() - 0.3) < 0.02
    assert cr.ones(3).bernoulli(0.0).tolist() == [0.0, 0.0, 0.0]
    probs = cr.tensor([[0.1, 0.0, 0.9], [1.0, 0.0, 0.0]])
    idx = cr.multinomial(probs, 4000, replacement=True, generator=g)
    assert idx.shape == (2, 4000) and idx.dtype == np.int64
    counts = np.bincount(idx[0].numpy(), minlength=3)
    assert counts[1] == 0 and abs(counts[2] / 4000 - 0.9) < 0.03
    assert set(idx[1].tolist()) == {0}
    no_rep = cr.tensor([1.0, 2.0, 3.0, 4.0]).multinomial(4, generator=g)
    assert sorted(no_rep.tolist()) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="without replacement"):
        cr.multinomial(cr.ones(2), 3)
    with pytest.raises(RuntimeError, match="not enough non-zero"):
        cr.multinomial(cr.tensor([1.0, 0.0]), 2)
    with pytest.raises(RuntimeError, match="element < 0"):
        cr.multinomial(cr.tensor([1.0, -1.0]), 1)


def test_new_tensor_factories_follow_the_source_dtype() -> None:
    torch = pytest.importorskip("torch")
    x, t = cr.ones(2, dtype=cr.float64), torch.ones(2, dtype=torch.float64)
    for ours, theirs in [(x.new_zeros(2, 3), t.new_zeros(2, 3)),
                         (x.new_ones((4,)), t.new_ones((4,))),
                         (x.new_full((2,), 7), t.new_full((2,), 7)),
                         (x.new_tensor([1, 2]), t.new_tensor([1, 2])),
                         (x.new_zeros(2, dtype=cr.int64), t.new_zeros(2, dtype=torch.int64))]:
        assert ours.shape == tuple(theirs.shape)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert x.new_empty(3).shape == (3,)
    assert x.new_zeros(2, requires_grad=True).requires_grad


def test_small_module_level_helpers() -> None:
    assert cr.is_tensor(nn.Parameter(cr.ones(1))) and not cr.is_tensor(np.ones(1))
    assert cr.numel(cr.ones(2, 3)) == 6
    assert cr.get_default_dtype() == cr.float32 == cr.ones(1).dtype
    cr.manual_seed(7)
    assert cr.initial_seed() == 7
    fresh = cr.seed()
    assert cr.initial_seed() == fresh
    a = cr.rand(3)
    cr.manual_seed(fresh)
    np.testing.assert_array_equal(cr.rand(3).numpy(), a.numpy())
    cr.manual_seed(0)


def test_tensor_device_contiguity_and_casts() -> None:
    x = cr.randn(2, 3, requires_grad=True)
    assert x.device == "cpu" and x.device.type == "cpu" and x.device == cr.device("cpu")
    assert x.to("cpu") is x and x.to(device="cpu", dtype=cr.float64).dtype == np.float64
    assert x.to(cr.ones(1, dtype=cr.float64)).dtype == np.float64
    assert cr.tensor([1.0], device="cpu").device == "cpu"
    t = x.t()
    assert not t.is_contiguous() and t.contiguous().is_contiguous() and x.contiguous() is x
    t.contiguous().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="chainrule computes on the CPU"):
        x.cuda()
    with pytest.raises(RuntimeError, match="chainrule computes on the CPU"):
        x.to("cuda:0")
    with pytest.raises(RuntimeError, match="chainrule computes on the CPU"):
        cr.tensor([1.0], device="cuda")


@pytest.mark.parametrize("make", [
    lambda **d: nn.Linear(2, 2, **d), lambda **d: nn.Bilinear(2, 2, 2, **d),
    lambda **d: nn.Conv1d(1, 1, 3, **d), lambda **d: nn.Conv2d(1, 1, 3, **d),
    lambda **d: nn.ConvTranspose2d(1, 1, 3, **d), lambda **d: nn.BatchNorm1d(2, **d),
    lambda **d: nn.InstanceNorm2d(2, **d), lambda **d: nn.GroupNorm(1, 2, **d),
    lambda **d: nn.LayerNorm(2, **d), lambda **d: nn.RMSNorm(2, **d),
    lambda **d: nn.Embedding(3, 2, **d), lambda **d: nn.PReLU(**d),
])
def test_layers_take_the_cpu_and_refuse_other_devices(make) -> None:
    assert make(device="cpu") is not None and make(device=cr.device("cpu")) is not None
    with pytest.raises(RuntimeError, match="chainrule computes on the CPU"):
        make(device="cuda")
