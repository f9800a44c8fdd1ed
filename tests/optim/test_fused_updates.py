"""The one-pass optimizer kernels (``chainrule.kernels.optim``) against the NumPy forms and
against ``torch.optim``, in float64 over 20 steps."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import kernels, optim
from chainrule.kernels import optim as fused

pytest.importorskip("numba")

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True)),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
SHAPES = [(4, 3), (3,), (2, 4, 5)]


def _run(name: str, kwargs: dict, jit: bool, grads: list[list[np.ndarray]],
         init: list[np.ndarray]) -> tuple[list[np.ndarray], dict]:
    params = [cr.nn.Parameter(cr.tensor(a)) for a in init]
    opt = getattr(optim, name)(params, **kwargs)
    with kernels.use_jit(jit):
        for step in grads:
            for p, g in zip(params, step):
                p.grad = cr.tensor(g)
            opt.step()
    return [p.array for p in params], opt.state_dict()["state"]


def _data(dtype: type, steps: int = 20) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the kernels called (to check the kernel path ran)."""
    seen: list[str] = []
    for name in ("_adam", "_sgd"):
        kernel = getattr(fused, name)

        def spy(*args, _k=kernel, _n=name):  # type: ignore[no-untyped-def]
            seen.append(_n)
            return _k(*args)
        monkeypatch.setattr(fused, name, spy)
    return seen


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_kernel_equals_numpy_form(name: str, kwargs: dict, calls: list[str]) -> None:
    init, grads = _data(np.float64)
    ours, state = _run(name, kwargs, True, grads, init)
    assert calls and len(calls) == 20 * len(SHAPES)
    ref, ref_state = _run(name, kwargs, False, grads, init)
    assert len(calls) == 20 * len(SHAPES)  # the NumPy form ran the second time
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for i in state:
        for k, v in state[i].items():
            if isinstance(v, cr.Tensor):
                np.testing.assert_allclose(v.array, ref_state[i][k].array, rtol=1e-12,
                                           atol=1e-12)
            else:
                assert v == ref_state[i][k]


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_kernel_matches_torch(name: str, kwargs: dict, calls: list[str]) -> None:
    torch = pytest.importorskip("torch")
    init, grads = _data(np.float64)
    ours, _ = _run(name, kwargs, True, grads, init)
    assert calls
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for step in grads:
        for q, g in zip(theirs, step):
            q.grad = torch.tensor(g)
        ref.step()
    for a, q in zip(ours, theirs):
        np.testing.assert_allclose(a, q.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", [CASES[3], CASES[6], CASES[9]], ids=["sgd", "adam",
                                                                             "adamw"])
def test_float32_and_noncontiguous_gradients(name: str, kwargs: dict, calls: list[str]) -> None:
    init, grads = _data(np.float32, steps=5)
    grads = [[np.asfortranarray(g) for g in step] for step in grads]
    ours, _ = _run(name, kwargs, True, grads, init)
    assert calls
    ref, _ = _run(name, kwargs, False, grads, init)
    for a, b in zip(ours, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_noncontiguous_parameter_takes_the_numpy_form(calls: list[str]) -> None:
    w = cr.nn.Parameter(cr.tensor(np.ones((3, 4))))
    w.array = w.array.T  # a transposed view: the kernel's flat writes would not reach it
    opt = optim.Adam([w], lr=0.1)
    w.grad = cr.tensor(np.ones((4, 3)))
    with kernels.use_jit(True):
        opt.step()
    assert not calls
    np.testing.assert_allclose(w.array, np.full((4, 3), 0.9))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01)),
                                         ("SGD", dict(lr=0.1, momentum=0.9))])
def test_state_that_would_turn_subnormal_is_stored_as_zero(name: str, kwargs: dict,
                                                          dtype: type) -> None:
    """A dead unit (gradient 0) has its momentum shrink by β each step; the kernels store it
    as 0 once it falls below the smallest normal number, where the NumPy form keeps the
    subnormal value, and the parameters stay equal. NaN is kept."""
    tiny = np.finfo(dtype).tiny
    init = [np.array([1.0, -2.0, 3.0, 0.5], dtype)]
    grads = [[np.array([1.0, 1.0, 0.5, np.nan], dtype)]]
    grads += [[np.array([0.0, 0.0, 0.5, 0.0], dtype)]] * 3
    key = "exp_avg" if name == "Adam" else "momentum_buffer"
    params, states = [], []
    for jit in (True, False):
        p = cr.nn.Parameter(cr.tensor(init[0]))
        opt = getattr(optim, name)([p], **kwargs)
        with kernels.use_jit(jit):
            for step in grads:
                p.grad = cr.tensor(step[0])
                opt.step()
            # a state just above the smallest normal number, and one more step of gradient 0
            opt.state[p][key][:2] = [tiny * 1.05, -tiny * 1.05]
            p.grad = cr.tensor(np.zeros(4, dtype))
            opt.step()
        params.append(p.array.copy())
        states.append(np.array(opt.state[p][key]))
    fused_state, numpy_state = states
    assert (fused_state[:2] == 0).all()
    assert (numpy_state[:2] != 0).all() and (np.abs(numpy_state[:2]) < tiny).all()
    assert np.isnan(fused_state[3]) and np.isnan(numpy_state[3])
    np.testing.assert_allclose(fused_state[2], numpy_state[2], rtol=1e-6)
    np.testing.assert_allclose(params[0], params[1], rtol=1e-6, equal_nan=True)
