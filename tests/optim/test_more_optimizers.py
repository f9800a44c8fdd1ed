"""RAdam, Rprop and ASGD against ``torch.optim`` step for step (float64 and float32), state-dict
round trips mid-run, PyTorch's validation messages, and plain-NumPy reference trajectories."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

CASES = [
    ("RAdam", dict()),
    ("RAdam", dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("ASGD", dict()),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, t0=0, maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.0, t0=5.5)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
SHAPES = [(4, 3), (3,), (2, 4)]


@pytest.fixture
def torch64():
    """torch with float64 default dtype, so its scalar state (ASGD's eta, mu) is float64 too."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


def _run_both(torch, name, kwargs, dtype, steps):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [nn.Parameter(cr.tensor(a.copy())) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for _ in range(steps):
        for p, q in zip(ours, theirs):
            # a gradient that depends on the weights, so sign changes (Rprop) really happen
            g = (rng.standard_normal(p.shape) * 0.5 + p.array).astype(dtype)
            p.grad = cr.tensor(g)
            q.grad = torch.tensor(g)
        opt.step()
        ref.step()
    return opt, ref, ours, theirs


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch_float64(torch64, name, kwargs) -> None:
    opt, ref, ours, theirs = _run_both(torch64, name, kwargs, np.float64, 30)
    for p, q in zip(ours, theirs):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-12, atol=1e-14)
        mine, want = opt.state[p], ref.state[q]
        assert set(mine) == set(want)
        assert mine["step"] == int(want["step"]) == 30
        for k, v in mine.items():
            if isinstance(v, np.ndarray):
                np.testing.assert_allclose(v, want[k].numpy(), rtol=1e-12, atol=1e-14,
                                           err_msg=k)
            else:
                assert v == pytest.approx(float(want[k]), rel=1e-14), k


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch_float32(name, kwargs) -> None:
    torch = pytest.importorskip("torch")
    opt, ref, ours, theirs = _run_both(torch, name, kwargs, np.float32, 25)
    for p, q in zip(ours, theirs):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-5, atol=1e-6)
        for v in opt.state[p].values():
            if isinstance(v, np.ndarray):
                assert v.dtype == np.float32 and v.shape == p.shape


def test_radam_switches_to_the_rectified_update_after_the_early_steps() -> None:
    """ρₜ ≤ 5 for the first steps (β₂ = 0.999: t ≤ 5), where the step is lr·m̂ alone."""
    w = nn.Parameter(cr.tensor(np.zeros(1)))
    opt = optim.RAdam([w], lr=0.1)
    for t in range(1, 6):
        w.grad = cr.tensor(np.array([1.0]))
        opt.step()
        np.testing.assert_allclose(w.array, [-0.1 * t], rtol=1e-12)  # m̂ = g = 1 exactly
    w.grad = cr.tensor(np.array([1.0]))
    opt.step()  # ρ₆ ≈ 5.994 > 5: rectified; with g = 1, v̂ = 1, so the step is lr·r
    rho_inf = 2 / (1 - 0.999) - 1
    rho = rho_inf - 2 * 6 * 0.999**6 / (1 - 0.999**6)
    r = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5
    np.testing.assert_allclose(w.array, [-0.5 - 0.1 * r], rtol=1e-7)


def _ref_rprop(p, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50)):
    prev, size = np.zeros_like(p), np.full_like(p, lr)
    for g in grads:
        s = np.sign(g * prev)
        size = np.clip(size * np.where(s > 0, etas[1], np.where(s < 0, etas[0], 1.0)),
                       *step_sizes)
        g = np.where(s < 0, 0.0, g)
        p = p - np.sign(g) * size
        prev = g
    return p


def _ref_asgd(p, grads, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6):
    eta, mu, ax = lr, 1.0, np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        p = p * (1 - lambd * eta) - eta * g
        ax = ax + mu * (p - ax) if mu != 1 else p.copy()
        eta, mu = lr / (1 + lambd * lr * t) ** alpha, 1 / max(1, t - t0)
    return p, ax


def test_against_plain_numpy_references() -> None:
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(5) for _ in range(25)]
    p0 = rng.standard_normal(5)
    w = nn.Parameter(cr.tensor(p0.copy()))
    opt = optim.Rprop([w], lr=0.03, etas=(0.4, 1.3), step_sizes=(1e-4, 0.1))
    for g in grads:
        w.grad = cr.tensor(g)
        opt.step()
    want = _ref_rprop(p0, grads, 0.03, (0.4, 1.3), (1e-4, 0.1))
    np.testing.assert_allclose(w.array, want, rtol=1e-12)
    w = nn.Parameter(cr.tensor(p0.copy()))
    opt = optim.ASGD([w], lr=0.1, lambd=0.05, t0=7)
    for g in grads:
        w.grad = cr.tensor(g)
        opt.step()
    want, ax = _ref_asgd(p0, grads, 0.1, 0.05, 0.75, 7)
    np.testing.assert_allclose(w.array, want, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["ax"], ax, rtol=1e-12)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip_mid_run_continues_identically(name, kwargs) -> None:
    rng = np.random.default_rng(5)
    init = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(30)]

    def make():
        ws = [nn.Parameter(cr.tensor(a.copy())) for a in init]
        return ws, getattr(optim, name)([{"params": ws[:2]}, {"params": ws[2:], "lr": 0.003}],
                                        **kwargs)

    def train(ws, opt, gs):
        for step in gs:
            for w, g in zip(ws, step):
                w.grad = cr.tensor(g + w.array)
            opt.step()

    a, oa = make()
    train(a, oa, grads[:12])
    sd = oa.state_dict()
    b, ob = make()
    for p, q in zip(a, b):
        q.array[...] = p.array
    ob.load_state_dict(sd)
    train(a, oa, grads[12:])
    train(b, ob, grads[12:])
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p.array, q.array)
    assert ob.param_groups[1]["lr"] == 0.003
    assert sd["state"][0]["step"] == 12  # the snapshot is not advanced by later steps
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]


INVALID = [
    ("RAdam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("RAdam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("RAdam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("RAdam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("RAdam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Rprop", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Rprop", dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    ("Rprop", dict(etas=(0.5, 0.9)), "Invalid eta values: 0.5, 0.9"),
    ("Rprop", dict(etas=(0.0, 1.2)), "Invalid eta values: 0.0, 1.2"),
    ("ASGD", dict(lr=-0.5), "Invalid learning rate: -0.5"),
    ("ASGD", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
]


@pytest.mark.parametrize("name,kwargs,message", INVALID,
                         ids=[f"{n}-{next(iter(k))}-{i}" for i, (n, k, _) in enumerate(INVALID)])
def test_invalid_hyper_parameters_raise_pytorchs_messages(name, kwargs, message) -> None:
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([nn.Parameter(cr.ones(2))], **kwargs)
    assert str(ours.value) == message
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)
    assert str(theirs.value) == message


def test_defaults_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for name in ("RAdam", "Rprop", "ASGD"):
        ours = getattr(optim, name)([nn.Parameter(cr.ones(1))]).defaults
        theirs = getattr(torch.optim, name)([torch.ones(1, requires_grad=True)]).defaults
        assert {k: v for k, v in theirs.items() if k in ours} == ours, name


def test_gradient_untouched_and_updates_in_place() -> None:
    for cls in (optim.RAdam, optim.Rprop, optim.ASGD):
        w = nn.Parameter(cr.tensor(np.arange(1.0, 5.0, dtype=np.float32)))
        data = w.array
        opt = cls([w], weight_decay=0.1) if cls is not optim.Rprop else cls([w])
        for _ in range(8):
            w.grad = cr.tensor(np.array([1.0, -2.0, 0.0, 3.0], dtype=np.float32))
            g = w.grad.array.copy()
            opt.step()
            np.testing.assert_array_equal(w.grad.array, g)
        assert w.array is data and w.dtype == np.float32
