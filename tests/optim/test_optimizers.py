"""Optimizers against plain-NumPy reference trajectories on a fixed quadratic, and the
``Optimizer`` base: groups, validation, zero_grad, closure, state dicts, in-place updates."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

A = np.diag([1.0, 3.0, 0.5, 2.0])
C = np.array([1.0, -2.0, 0.5, 3.0])
P0 = np.array([0.3, 0.1, -0.4, 2.0])


def _grad(p: np.ndarray) -> np.ndarray:
    """∇ of f(p) = ½ (p − c)ᵀA(p − c)."""
    return A @ (p - C)


def ref_sgd(p, steps, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    buf = None
    for _ in range(steps):
        g = _grad(p) * (-1 if maximize else 1) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
             amsgrad=False, decoupled=False):
    m = v = vmax = np.zeros_like(p)
    b1, b2 = betas
    for t in range(1, steps + 1):
        g = _grad(p)
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(vhat) + eps)
    return p


def ref_adamax(p, steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8):
    m = u = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = _grad(p)
        m = betas[0] * m + (1 - betas[0]) * g
        u = np.maximum(betas[1] * u, np.abs(g) + eps)
        p = p - lr / (1 - betas[0] ** t) * m / u
    return p


def ref_nadam(p, steps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, momentum_decay=4e-3):
    m = v = np.zeros_like(p)
    b1, b2 = betas
    prod = 1.0
    for t in range(1, steps + 1):
        g = _grad(p)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu1 = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        d = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / d - lr * mu1 / (1 - prod * mu1) * m / d
    return p


def ref_rmsprop(p, steps, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    s = ga = buf = np.zeros_like(p)
    for _ in range(steps):
        g = _grad(p)
        s = alpha * s + (1 - alpha) * g * g
        ga = alpha * ga + (1 - alpha) * g
        d = np.sqrt(s - ga * ga if centered else s) + eps
        if momentum:
            buf = momentum * buf + g / d
            p = p - lr * buf
        else:
            p = p - lr * g / d
    return p


def ref_adagrad(p, steps, lr=1e-2, lr_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    s = np.full_like(p, initial_accumulator_value)
    for t in range(1, steps + 1):
        g = _grad(p)
        s = s + g * g
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
    return p


def ref_adadelta(p, steps, lr=1.0, rho=0.9, eps=1e-6):
    v = u = np.zeros_like(p)
    for _ in range(steps):
        g = _grad(p)
        v = rho * v + (1 - rho) * g * g
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        p = p - lr * delta
    return p


REFS = [
    ("SGD", dict(lr=0.1), lambda p, n: ref_sgd(p, n, 0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05),
     lambda p, n: ref_sgd(p, n, 0.1, 0.9, 0.2, 0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True),
     lambda p, n: ref_sgd(p, n, 0.05, 0.8, nesterov=True)),
    ("SGD", dict(lr=0.05, maximize=True), lambda p, n: ref_sgd(p, n, 0.05, maximize=True)),
    ("Adam", dict(lr=0.1), lambda p, n: ref_adam(p, n, 0.1)),
    ("Adam", dict(lr=0.1, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
     lambda p, n: ref_adam(p, n, 0.1, (0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.1, weight_decay=0.1),
     lambda p, n: ref_adam(p, n, 0.1, weight_decay=0.1, decoupled=True)),
    ("Adamax", dict(lr=0.1), lambda p, n: ref_adamax(p, n, 0.1)),
    ("NAdam", dict(lr=0.1), lambda p, n: ref_nadam(p, n, 0.1)),
    ("RMSprop", dict(lr=0.01), lambda p, n: ref_rmsprop(p, n, 0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True),
     lambda p, n: ref_rmsprop(p, n, 0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1),
     lambda p, n: ref_adagrad(p, n, 0.1, 0.05, 0.1)),
    ("Adadelta", dict(lr=1.0, rho=0.8), lambda p, n: ref_adadelta(p, n, 1.0, 0.8)),
]


def _quadratic_loss(w: cr.Tensor) -> cr.Tensor:
    d = w - cr.tensor(C)
    return 0.5 * (d * (cr.tensor(A) @ d)).sum()


@pytest.mark.parametrize("name,kwargs,ref", REFS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFS)])
def test_trajectory_matches_numpy_reference(name, kwargs, ref) -> None:
    w = nn.Parameter(cr.tensor(P0, dtype=cr.float64))
    opt = getattr(optim, name)([w], **kwargs)
    for n in range(1, 8):
        opt.zero_grad()
        _quadratic_loss(w).backward()
        opt.step()
        np.testing.assert_allclose(w.array, ref(P0.copy(), n), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs,ref", REFS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFS)])
def test_updates_in_place_with_float32_state(name, kwargs, ref) -> None:
    w = nn.Parameter(cr.tensor(P0.astype(np.float32)))
    data = w.array
    opt = getattr(optim, name)([w], **kwargs)
    for _ in range(3):
        opt.zero_grad()
        _quadratic_loss(w).backward()
        grad = w.grad.array.copy()
        opt.step()
        np.testing.assert_array_equal(w.grad.array, grad)  # the gradient is never modified
    assert w.array is data and w.dtype == np.float32
    for v in opt.state[w].values():
        if isinstance(v, np.ndarray):
            assert v.dtype == np.float32 and v.shape == w.shape


@pytest.mark.parametrize("name,kwargs,ref", REFS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFS)])
def test_state_dict_round_trip_mid_training_continues_identically(name, kwargs, ref) -> None:
    def make():
        ws = [nn.Parameter(cr.tensor(P0.astype(np.float32))),
              nn.Parameter(cr.tensor(P0[:2].astype(np.float32)))]
        return ws, getattr(optim, name)([{"params": ws[:1]}, {"params": ws[1:], "lr": 0.01}],
                                        **kwargs)

    def train(ws, opt, n):
        for _ in range(n):
            opt.zero_grad()
            (_quadratic_loss(ws[0]) + (ws[1] ** 2).sum()).backward()
            opt.step()

    a, oa = make()
    train(a, oa, 3)
    b, ob = make()
    for p, q in zip(a, b):
        q.array[...] = p.array
    ob.load_state_dict(oa.state_dict())
    train(a, oa, 4)
    train(b, ob, 4)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.array, q.array)
    assert ob.param_groups[1]["lr"] == 0.01


def test_state_dict_is_pytorch_shaped_and_a_snapshot() -> None:
    ws = [nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(3)), nn.Parameter(cr.ones(1))]
    opt = optim.Adam([{"params": ws[:2]}, {"params": ws[2:], "lr": 0.5}])
    (ws[0].sum() + ws[2].sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 2]  # lazy: ws[1] had no gradient, so no state
    assert opt.state[ws[1]] == {}  # a defaultdict, as in PyTorch; an empty entry is not saved
    assert sorted(opt.state_dict()["state"]) == [0, 2]
    ws[1].grad = cr.ones(3)
    opt.step()  # an entry touched before the first step is still initialised
    assert opt.state[ws[1]]["step"] == 1
    ws[1].grad = None
    assert sd["state"][0]["step"] == 1 and isinstance(sd["state"][0]["exp_avg"], cr.Tensor)
    before = sd["state"][0]["exp_avg"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].numpy(), before)


def test_validation_errors() -> None:
    w = nn.Parameter(cr.ones(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -0.1"):
        optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.RMSprop([w], eps=-1)
    with pytest.raises(ValueError, match="Invalid momentum value"):
        optim.SGD([w], momentum=-1)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid rho value"):
        optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})


def test_param_groups_add_param_group_zero_grad_and_closure() -> None:
    w, b = nn.Parameter(cr.ones(2)), nn.Parameter(cr.ones(1))
    opt = optim.SGD([w], lr=0.1, momentum=0.5)
    opt.add_param_group({"params": b, "lr": 1.0})
    assert opt.param_groups[1]["momentum"] == 0.5 and opt.param_groups[1]["lr"] == 1.0

    def closure():
        opt.zero_grad()
        loss = (w * w).sum() + (b * 3).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    np.testing.assert_allclose(w.array, [0.8, 0.8])
    np.testing.assert_allclose(b.array, [-2.0])
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.array.any()
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    opt.step()  # no gradients: nothing moves
    np.testing.assert_allclose(w.array, [0.8, 0.8])


def test_trains_a_small_network() -> None:
    cr.manual_seed(0)
    x = cr.randn(64, 2)
    y = (x[:, 0] * x[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_registry_offers_every_first_order_optimizer_by_name():
    exported = [getattr(optim, n) for n in optim.__all__]
    first_order = {c for c in exported if isinstance(c, type) and issubclass(c, optim.Optimizer)
                   and c not in (optim.Optimizer, optim.LBFGS)}
    assert set(optim.OPTIMIZERS.values()) == first_order
    assert all(name == cls.__name__.lower() for name, cls in optim.OPTIMIZERS.items())
    for cls in optim.OPTIMIZERS.values():   # each takes (params, lr=...) and steps
        w = cr.nn.Parameter(cr.tensor([1.0, -2.0]))
        opt = cls([w], lr=0.1)
        (w * w).sum().backward()
        opt.step()
        assert not np.allclose(w.array, [1.0, -2.0])
