"""Every optimizer against ``torch.optim`` step for step: same weights, same gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_step_for_step(name: str, kwargs: dict) -> None:
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (3,), (2, 4)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [cr.nn.Parameter(cr.tensor(a)) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(12):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(np.float32)
            p.grad = cr.tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,kwargs,sched", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True), ("CosineAnnealingLR", dict(T_max=10))),
    ("Adam", dict(lr=0.01, weight_decay=1e-3), ("OneCycleLR", dict(max_lr=0.05,
                                                                   total_steps=16))),
    ("RMSprop", dict(lr=0.01, momentum=0.5), ("StepLR", dict(step_size=4, gamma=0.5))),
])
def test_same_network_same_data_same_weights(name: str, kwargs: dict, sched: tuple) -> None:
    """The tinygrad check: one small net in both frameworks, N optimizer+scheduler steps."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    net = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.Tanh(), cr.nn.Linear(8, 3))
    net.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    opt = getattr(optim, name)(net.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tnet.parameters(), **kwargs)
    s = getattr(optim.lr_scheduler, sched[0])(opt, **sched[1])
    ts = getattr(torch.optim.lr_scheduler, sched[0])(topt, **sched[1])
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(15):
        opt.zero_grad()
        cr.nn.functional.cross_entropy(net(cr.tensor(x)), cr.tensor(y)).backward()
        opt.step()
        s.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tnet(xt), yt).backward()
        topt.step()
        ts.step()
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr())
    for k, v in tnet.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[k].numpy(), v.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=k)
