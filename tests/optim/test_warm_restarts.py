"""CosineAnnealingWarmRestarts: learning rates against torch step for step (plain steps,
fractional ``step(epoch)`` calls, the two interleaved), against the SGDR formula in plain
Python, state-dict round trips, resuming with ``last_epoch`` and argument errors."""

from __future__ import annotations

import math
import warnings

import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim.lr_scheduler import CosineAnnealingWarmRestarts

SETTINGS = [
    dict(T_0=5),
    dict(T_0=1),
    dict(T_0=7, eta_min=0.01),
    dict(T_0=3, T_mult=2),
    dict(T_0=2, T_mult=3, eta_min=1e-3),
    dict(T_0=4, T_mult=2, eta_min=0.05),
]
IDS = ["-".join(f"{k}{v}" for k, v in s.items()) for s in SETTINGS]


def _pair(kwargs: dict, lrs=(0.1, 0.02)):
    """Our scheduler and torch's, on SGD optimizers with one group per entry of ``lrs``."""
    torch = pytest.importorskip("torch")
    ours = optim.SGD([{"params": [cr.nn.Parameter(cr.zeros(2))], "lr": lr} for lr in lrs])
    theirs = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr}
                              for lr in lrs])
    return (ours, CosineAnnealingWarmRestarts(ours, **kwargs),
            theirs, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, **kwargs))


def _same(o, s, to, ts) -> None:
    assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-13, abs=1e-16)
    assert [g["lr"] for g in o.param_groups] == s.get_last_lr()
    assert s.last_epoch == ts.last_epoch
    assert (s.T_cur, s.T_i) == pytest.approx((ts.T_cur, ts.T_i), rel=1e-13, abs=1e-13)


@pytest.mark.parametrize("kwargs", SETTINGS, ids=IDS)
def test_plain_steps_match_torch(kwargs) -> None:
    o, s, to, ts = _pair(kwargs)
    _same(o, s, to, ts)
    for _ in range(50):
        o.step()
        s.step()
        to.step()
        ts.step()
        _same(o, s, to, ts)


@pytest.mark.parametrize("kwargs", SETTINGS, ids=IDS)
def test_fractional_epochs_match_torch(kwargs) -> None:
    """``step(epoch + i / iters)`` every batch, as in PyTorch's documented example."""
    o, s, to, ts = _pair(kwargs)
    iters = 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation warning for step(epoch)
        for epoch in range(12):
            for i in range(iters):
                o.step()
                to.step()
                s.step(epoch + i / iters)
                ts.step(epoch + i / iters)
                _same(o, s, to, ts)
                assert isinstance(s.last_epoch, int)


@pytest.mark.parametrize("kwargs", SETTINGS, ids=IDS)
def test_jumps_and_interleaved_steps_match_torch(kwargs) -> None:
    o, s, to, ts = _pair(kwargs)
    epochs = [0.5, 3, 2.25, 26, None, None, 11.75, None, 0, None, 40.5, 9.999, None, None, 1e-3,
              63, 6.5, None, 100.125, None, None, None, 14, 27.3, 12, 5, 45.5, 2, 90.75, 3.5,
              None, 80, 7.25, None, 17, 33.3, None, 1, 22.22, 60, None]
    assert len(epochs) >= 40
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for e in epochs:
            s.step(e)
            ts.step(e)
            _same(o, s, to, ts)


def _sgdr(epoch: float, base: float, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> float:
    """The SGDR formula: find the cycle holding ``epoch`` by walking the cycle lengths."""
    start, length = 0, T_0
    while epoch >= start + length:
        start, length = start + length, length * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (epoch - start) / length)) / 2


@pytest.mark.parametrize("kwargs", SETTINGS, ids=IDS)
def test_against_the_sgdr_formula(kwargs) -> None:
    o = optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.1)
    s = CosineAnnealingWarmRestarts(o, **kwargs)
    for e in range(45):
        assert s.get_last_lr()[0] == pytest.approx(_sgdr(e, 0.1, **kwargs), rel=1e-9, abs=1e-15)
        o.step()
        s.step()
    for e in [0.25, 1.5, 4.75, 10.1, 33.3, 44.9]:
        s.step(e)
        assert s.get_last_lr()[0] == pytest.approx(_sgdr(e, 0.1, **kwargs), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("kwargs", SETTINGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(kwargs) -> None:
    def make():
        o = optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.1, momentum=0.9)
        return o, CosineAnnealingWarmRestarts(o, **kwargs)

    a, sa = make()
    for _ in range(9):
        a.step()
        sa.step()
    sa.step(9.5)  # mid-epoch: T_cur is fractional in the saved state
    sd = sa.state_dict()
    assert {"T_0", "T_i", "T_mult", "T_cur", "eta_min", "last_epoch", "base_lrs"} <= set(sd)
    assert "optimizer" not in sd
    b, sb = make()
    b.load_state_dict(a.state_dict())
    sb.load_state_dict(sd)
    for step in range(40):
        for o, s in ((a, sa), (b, sb)):
            o.step()
            s.step() if step % 3 else s.step(step / 2)
        assert sa.get_last_lr() == sb.get_last_lr()
        assert b.param_groups[0]["lr"] == a.param_groups[0]["lr"]


def test_state_dict_keys_match_torch() -> None:
    o, s, to, ts = _pair(dict(T_0=3, T_mult=2))
    theirs = {k for k in ts.state_dict() if not k.startswith("_")}
    assert {k for k in s.state_dict() if not k.startswith("_")} == theirs


def test_resuming_with_last_epoch_matches_torch() -> None:
    o, s, to, ts = _pair(dict(T_0=4, T_mult=2))  # the first schedulers record initial_lr
    torch = pytest.importorskip("torch")
    s = CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, last_epoch=5)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(to, T_0=4, T_mult=2, last_epoch=5)
    _same(o, s, to, ts)
    for _ in range(40):
        s.step()
        ts.step()
        _same(o, s, to, ts)


@pytest.mark.parametrize("kwargs,message", [
    (dict(T_0=0), "Expected positive integer T_0, but got 0"),
    (dict(T_0=2.5), "Expected positive integer T_0, but got 2.5"),
    (dict(T_0=3, T_mult=0), "Expected integer T_mult >= 1, but got 0"),
    (dict(T_0=3, T_mult=1.5), "Expected integer T_mult >= 1, but got 1.5"),
    (dict(T_0=3, eta_min="0"), "Expected float or int eta_min, but got 0 of type "
                               "<class 'str'>"),
], ids=["T_0-zero", "T_0-float", "T_mult-zero", "T_mult-float", "eta_min-str"])
def test_invalid_arguments_raise_pytorchs_messages(kwargs, message) -> None:
    o = optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.1)
    with pytest.raises(ValueError) as ours:
        CosineAnnealingWarmRestarts(o, **kwargs)
    assert str(ours.value) == message
    torch = pytest.importorskip("torch")
    to = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError) as theirs:
        torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(to, **kwargs)
    assert str(theirs.value) == message


def test_negative_epoch_raises() -> None:
    o = optim.SGD([cr.nn.Parameter(cr.zeros(1))], lr=0.1)
    s = CosineAnnealingWarmRestarts(o, T_0=3)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        s.step(-1)


def test_exported_from_lr_scheduler() -> None:
    assert cr.optim.lr_scheduler.CosineAnnealingWarmRestarts is CosineAnnealingWarmRestarts
    assert "CosineAnnealingWarmRestarts" in cr.optim.lr_scheduler.__all__
