"""Module full backward hooks and pre-hooks against PyTorch: what the hooks receive, and
what replacing the gradients does to the parameters' and inputs' gradients."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(seed: int = 0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((5, 3)), rng.standard_normal(5)
    w2, b2 = rng.standard_normal((2, 5)), rng.standard_normal(2)
    nets = []
    for lib in (cr, torch):
        net = lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        net = net.double() if lib is torch else net
        for p, v in zip(net.parameters(), (w1, b1, w2, b2)):
            if lib is cr:
                p.array = v.copy()  # float64, as the torch twin
            else:
                p.data[...] = torch.tensor(v)
        nets.append(net)
    x = rng.standard_normal((4, 3))
    return nets, x


def _np(t):
    return None if t is None else (t.detach().numpy() if hasattr(t, "detach") else t.numpy())


def _run(lib, net, x_value, hook_kind, hook):
    seen = []
    def record(*a):
        seen.append([[_np(g) for g in group] for group in a[1:]])
        return hook(*a)
    getattr(net[2], hook_kind)(record)
    getattr(net[0], hook_kind)(record)
    x = lib.tensor(x_value, requires_grad=True)
    (net(x) ** 2).sum().backward()
    grads = [_np(p.grad) for p in net.parameters()] + [_np(x.grad)]
    return seen, grads


@pytest.mark.parametrize("hook_kind, hook", [
    ("register_full_backward_hook", lambda m, gi, go: None),
    ("register_full_backward_hook", lambda m, gi, go: tuple(g * 3 for g in gi)),
    ("register_full_backward_pre_hook", lambda m, go: None),
    ("register_full_backward_pre_hook", lambda m, go: (go[0] * -2,)),
])
def test_hooks_see_and_change_the_gradients_as_in_torch(hook_kind, hook) -> None:
    (ours, theirs), x = _pair()
    seen_ours, grads_ours = _run(cr, ours, x, hook_kind, hook)
    seen_theirs, grads_theirs = _run(torch, theirs, x, hook_kind, hook)
    assert len(seen_ours) == len(seen_theirs) == 2
    for a, b in zip(seen_ours, seen_theirs):
        for ga, gb in zip(a, b):
            assert len(ga) == len(gb)
            for u, v in zip(ga, gb):
                assert (u is None) == (v is None)
                if u is not None:
                    np.testing.assert_allclose(u, v, rtol=1e-12)
    for a, b in zip(grads_ours, grads_theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_inputs_without_grad_fire_the_hook_with_output_gradients_and_warn() -> None:
    calls = []
    lin = cr.nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go)))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are "
                                         "computed with respect to module outputs"):
        lin(cr.ones(3, 2)).sum().backward()
    (gi, go), = calls
    assert gi == (None,) and go[0].tolist() == [[1.0, 1.0]] * 3


def test_grad_input_has_one_entry_per_positional_argument() -> None:
    class Two(cr.nn.Module):
        def forward(self, a, b, k):
            return a * 2, b * k

    calls = []
    two = Two()
    two.register_full_backward_hook(lambda m, gi, go: calls.append((gi, go)))
    a = cr.ones(2, requires_grad=True)
    two(a, cr.ones(3), 5)[0].sum().backward()
    (gi, go), = calls
    assert gi[0].tolist() == [2.0, 2.0] and gi[1:] == (None, None)
    assert go[0].tolist() == [1.0, 1.0] and go[1] is None
    two.register_full_backward_hook(lambda m, gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 1, but expected 3"):
        two(a, cr.ones(3), 5)[0].sum().backward()


def test_removed_hooks_and_no_grad_calls_do_nothing() -> None:
    calls = []
    lin = cr.nn.Linear(2, 2)
    handle = lin.register_full_backward_pre_hook(lambda m, go: calls.append(go))
    with cr.no_grad():
        lin(cr.ones(1, 2))
    handle.remove()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lin(cr.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == []
