"""Schedulers: values against torch step for step, against closed forms in plain Python, and
state-dict round trips mid-schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler as ls


def _opts(name: str = "SGD", **kw):
    ours = getattr(optim, name)([cr.nn.Parameter(cr.zeros(2))], lr=0.1, **kw)
    return ours


def _sched(opt, name: str, kwargs: dict):
    if name == "SequentialLR":
        mod = ls if isinstance(opt, optim.Optimizer) else __import__("torch").optim.lr_scheduler
        return mod.SequentialLR(opt, [mod.LinearLR(opt, 0.1, total_iters=3),
                                      mod.CosineAnnealingLR(opt, T_max=5),
                                      mod.ExponentialLR(opt, 0.9)], milestones=[3, 9])
    mod = ls if isinstance(opt, optim.Optimizer) else __import__("torch").optim.lr_scheduler
    if name == "ChainedScheduler":
        return mod.ChainedScheduler([mod.ConstantLR(opt, factor=0.3, total_iters=4),
                                     mod.PolynomialLR(opt, total_iters=7, power=2.0),
                                     mod.MultiplicativeLR(opt, lambda e: 0.95)])
    return getattr(mod, name)(opt, **kwargs)


CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5), "SGD", {}),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), "SGD", {}),
    ("ExponentialLR", dict(gamma=0.9), "SGD", {}),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=0.01), "SGD", {}),
    ("LinearLR", dict(start_factor=0.25, total_iters=4), "SGD", {}),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=6), "SGD", {}),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e)), "SGD", {}),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3), "SGD", dict(momentum=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=4,
                      mode="triangular2"), "SGD", dict(momentum=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9),
     "Adam", {}),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False),
     "Adam", {}),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20), "SGD", dict(momentum=0.9)),
    ("OneCycleLR", dict(max_lr=0.5, epochs=4, steps_per_epoch=5, anneal_strategy="linear",
                        three_phase=True), "Adam", {}),
    ("SequentialLR", {}, "SGD", {}),
    ("ConstantLR", dict(factor=0.25, total_iters=3), "SGD", {}),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9 if e % 2 else 0.99), "SGD", {}),
    ("PolynomialLR", dict(total_iters=10, power=0.5), "SGD", {}),
    ("ChainedScheduler", {}, "SGD", {}),
]


@pytest.mark.parametrize("name,kwargs,opt_name,opt_kw", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch(name, kwargs, opt_name, opt_kw) -> None:
    torch = pytest.importorskip("torch")
    ours = _opts(opt_name, **opt_kw)
    theirs = getattr(torch.optim, opt_name)([torch.zeros(2, requires_grad=True)], lr=0.1,
                                            **opt_kw)
    s, t = _sched(ours, name, kwargs), _sched(theirs, name, kwargs)
    steps = 19 if name == "OneCycleLR" else 25
    for _ in range(steps):
        assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12, abs=1e-15)
        for key in ("momentum", "betas"):
            if key in theirs.param_groups[0]:
                assert ours.param_groups[0][key] == pytest.approx(theirs.param_groups[0][key])
        ours.step()
        theirs.step()
        s.step()
        t.step()


def test_reduce_on_plateau_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    ours = _opts()
    theirs = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    kw = dict(factor=0.5, patience=2, cooldown=1, min_lr=0.01, threshold=0.05)
    s = ls.ReduceLROnPlateau(ours, **kw)
    t = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kw)
    for loss in [1.0, 0.9, 0.89, 0.88, 0.88, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]:
        s.step(loss)
        t.step(loss)
        assert s.get_last_lr() == pytest.approx(t.get_last_lr())
    assert s.get_last_lr()[0] < 0.1


def test_closed_forms_in_plain_python() -> None:
    opt = _opts()
    s = ls.StepLR(opt, step_size=2, gamma=0.5)
    seen = []
    for _ in range(7):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    assert seen == pytest.approx([0.1 * 0.5 ** (e // 2) for e in range(7)])
    opt = _opts()
    s = ls.CosineAnnealingLR(opt, T_max=8, eta_min=0.0)
    for e in range(9):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.05 * (1 + math.cos(math.pi * e / 8)))
        s.step()
    opt = _opts()
    s = ls.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.5, anneal_strategy="linear",
                      cycle_momentum=False, div_factor=10, final_div_factor=1)
    lrs = []
    for _ in range(10):
        lrs.append(s.get_last_lr()[0])
        s.step()
    np.testing.assert_allclose(lrs[:5], np.linspace(0.1, 1.0, 5))
    np.testing.assert_allclose(lrs[4:], np.linspace(1.0, 0.1, 6))
    with pytest.raises(ValueError, match="Tried to step"):
        s.step()


@pytest.mark.parametrize("name,kwargs,opt_name,opt_kw", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_state_dict_round_trip_continues_identically(name, kwargs, opt_name, opt_kw) -> None:
    a = _opts(opt_name, **opt_kw)
    sa = _sched(a, name, kwargs)
    for _ in range(7):
        a.step()
        sa.step()
    b = _opts(opt_name, **opt_kw)
    sb = _sched(b, name, kwargs)
    b.load_state_dict(a.state_dict())
    sb.load_state_dict(sa.state_dict())
    for _ in range(10):
        for o, s in ((a, sa), (b, sb)):
            o.step()
            s.step()
        assert sa.get_last_lr() == sb.get_last_lr()
        assert a.param_groups[0]["lr"] == b.param_groups[0]["lr"]


def test_invalid_arguments() -> None:
    opt = _opts()
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        ls.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="total_steps"):
        ls.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Factor should be"):
        ls.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="momentum"):
        ls.CyclicLR(optim.Adagrad([cr.nn.Parameter(cr.zeros(1))]), 0.1, 1.0)
    with pytest.raises(TypeError, match="not an Optimizer"):
        ls.StepLR(object(), 3)


def _trace(sched, opt, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("make,expected", [
    (lambda o: ls.MultiStepLR(o, [2, 5, 5], gamma=0.5),
     lambda e: 0.1 * 0.5 ** sum(m <= e for m in [2, 5, 5])),
    (lambda o: ls.ExponentialLR(o, gamma=0.8), lambda e: 0.1 * 0.8**e),
    (lambda o: ls.LinearLR(o, start_factor=0.2, total_iters=4),
     lambda e: 0.1 * (0.2 + 0.8 * min(e, 4) / 4)),
    (lambda o: ls.LambdaLR(o, lambda e: 0.9**e + 1), lambda e: 0.1 * (0.9**e + 1)),
    (lambda o: ls.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False),
     lambda e: 0.01 + 0.09 * max(0.0, 1 - abs(e / 3 - 2 * math.floor(1 + e / 6) + 1))),
    (lambda o: ls.SequentialLR(o, [ls.LinearLR(o, 0.5, total_iters=2),
                                   ls.ExponentialLR(o, 0.5)], milestones=[3]),
     lambda e: 0.1 * (0.5 + 0.5 * min(e, 2) / 2) if e < 3 else 0.1 * 0.5 ** (e - 3)),
], ids=["multistep", "exponential", "linear", "lambda", "cyclic", "sequential"])
def test_against_plain_python_formulas(make, expected) -> None:
    opt = _opts()
    lrs = _trace(make(opt), opt, 14)
    assert lrs == pytest.approx([expected(e) for e in range(14)], rel=1e-12)
