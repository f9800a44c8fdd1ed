"""The extra activations (SELU, CELU, Hardswish, Hardsigmoid, Softmin, Threshold, Tanhshrink,
Softshrink, Hardshrink, PReLU), normalisations (GroupNorm, InstanceNorm1d/2d) and constant
padding layers: outputs, input and parameter gradients and buffers equal PyTorch's in float32
and float64; state_dict keys and reprs equal PyTorch's; float64 gradcheck of every functional
form; the layer contract; and errors for bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(0)

# kinks of the piecewise activations (at the arguments used below); inputs keep away from them
KINKS = (0.0, 0.5, -0.5, 3.0, -3.0, 0.3, -0.3, 0.1)


def _away(shape, kinks=KINKS, gap: float = 0.05, scale: float = 2.5) -> np.ndarray:
    """Standard normal · ``scale`` samples, each at least ``gap`` from every kink."""
    x = R.standard_normal(shape) * scale
    while True:
        near = np.min(np.abs(x[..., None] - np.asarray(kinks)), axis=-1) < gap
        if not near.any():
            return x
        x[near] = R.standard_normal(int(near.sum())) * scale


# name, args, kwargs, input shapes
LAYERS = [
    ("SELU", (), {}, (3, 5)),
    ("CELU", (), {}, (3, 5)),
    ("CELU", (0.5,), {}, (3, 5)),
    ("Hardswish", (), {}, (4, 6)),
    ("Hardsigmoid", (), {}, (4, 6)),
    ("Softmin", (1,), {}, (3, 5)),
    ("Softmin", (0,), {}, (3, 5)),
    ("Threshold", (0.1, 20.0), {}, (3, 5)),
    ("Tanhshrink", (), {}, (3, 5)),
    ("Softshrink", (), {}, (3, 5)),
    ("Softshrink", (0.3,), {}, (3, 5)),
    ("Hardshrink", (), {}, (3, 5)),
    ("Hardshrink", (0.3,), {}, (3, 5)),
    ("PReLU", (), {}, (3, 5)),
    ("PReLU", (), {}, (7,)),
    ("PReLU", (3,), {}, (2, 3, 4)),
    ("PReLU", (4, 0.1), {}, (2, 4, 3, 3)),
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("GroupNorm", (3, 6), {}, (2, 6, 3, 2)),
    ("GroupNorm", (1, 3), {"affine": False}, (2, 3, 4)),
    ("GroupNorm", (4, 4), {"bias": False}, (2, 4, 3)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, (4, 3, 6)),
    ("InstanceNorm1d", (3,), {"track_running_stats": True, "momentum": None}, (4, 3, 6)),
    ("InstanceNorm2d", (2,), {}, (3, 2, 3, 4)),
    ("InstanceNorm2d", (2,), {"affine": True, "eps": 1e-3}, (3, 2, 3, 4)),
    ("InstanceNorm2d", (2,), {"affine": True, "track_running_stats": True, "momentum": 0.3},
     (3, 2, 3, 4)),
    ("InstanceNorm2d", (2,), {"track_running_stats": True}, (2, 3, 4)),
    ("ZeroPad1d", (2,), {}, (2, 3, 4)),
    ("ZeroPad1d", ((1, 3),), {}, (3, 4)),
    ("ZeroPad2d", (1,), {}, (2, 3, 4)),
    ("ZeroPad2d", ((1, 0, 2, 3),), {}, (2, 1, 3, 4)),
    ("ConstantPad1d", ((1, 2), 3.5), {}, (2, 3, 4)),
    ("ConstantPad1d", (2, -1.0), {}, (4,)),
    ("ConstantPad2d", ((0, 1, 2, 0), 0.5), {}, (2, 3, 4)),
    ("ConstantPad2d", (1, 2.0), {}, (1, 2, 3, 3)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(LAYERS)]

TOL = {  # dtype: (rtol, atol) for values and gradients
    "float32": (2e-5, 2e-6),
    "float64": (1e-10, 1e-12),
}
# NOTE: in float64 PyTorch's hardsigmoid backward multiplies by a float32 1/6 and its celu
# backward rounds 1/alpha to float32 (relative errors ~1e-7); ours are exact (see
# test_float64_gradients_are_exact), so those two gradients are compared at 1e-7 and 2e-7 there.
GRAD_RTOL = {"Hardsigmoid": 1e-7, "hardsigmoid": 1e-7, "CELU": 2e-7, "celu": 2e-7}


def _pair(name, args, kwargs, dtype: str):
    """torch's layer and ours, with the same (random, if any) parameters and buffers."""
    theirs = getattr(torch.nn, name)(*args, **kwargs).to(getattr(torch, dtype))
    ours = getattr(nn, name)(*args, **kwargs).to(getattr(cr, dtype))
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(R.uniform(0.2, 1.5, tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _step(ours, theirs, shape, dtype: str, train: bool = True) -> None:
    """One forward and backward in both; compare outputs, gradients and buffers."""
    rtol, atol = TOL[dtype]
    grad_rtol = max(rtol, GRAD_RTOL.get(type(ours).__name__, 0.0))
    ours.train(train)
    theirs.train(train)
    a = _away(shape).astype(dtype)
    xo = cr.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    assert yo.dtype == getattr(cr, dtype) and tuple(yo.shape) == tuple(yt.shape)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = R.standard_normal(yo.shape).astype(dtype)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), rtol=grad_rtol, atol=atol)
    tp = dict(theirs.named_parameters())
    assert set(dict(ours.named_parameters())) == set(tp)
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.array, tp[k].grad.numpy(), rtol=rtol,
                                   atol=atol * 10, err_msg=k)
    ours.zero_grad()
    theirs.zero_grad()
    for k, b in theirs.state_dict().items():  # parameters and buffers (running statistics)
        np.testing.assert_allclose(ours.state_dict()[k].array, b.numpy(), rtol=rtol, atol=atol,
                                   err_msg=k)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS, ids=IDS)
def test_layer_matches_torch(name, args, kwargs, shape, dtype) -> None:
    ours, theirs = _pair(name, args, kwargs, dtype)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _step(ours, theirs, shape, dtype)
    if name.startswith("InstanceNorm"):  # a second training step, then evaluation
        _step(ours, theirs, shape, dtype)
        _step(ours, theirs, shape, dtype, train=False)


@pytest.mark.parametrize("name,args,keys", [
    ("PReLU", (), ["weight"]),
    ("PReLU", (5,), ["weight"]),
    ("GroupNorm", (2, 4), ["weight", "bias"]),
    ("GroupNorm", (2, 4, 1e-5, False), []),
    ("InstanceNorm1d", (3, 1e-5, 0.1, True), ["weight", "bias"]),
    ("InstanceNorm2d", (3, 1e-5, 0.1, True, True),
     ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]),
    ("InstanceNorm2d", (3,), []),
])
def test_state_dict_keys_match_torch(name, args, keys) -> None:
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == keys
    for k, v in theirs.state_dict().items():  # default init as PyTorch's
        np.testing.assert_array_equal(ours.state_dict()[k].array, v.numpy(), err_msg=k)


def test_prelu_reset_parameters_restores_init() -> None:
    layer = nn.PReLU(3, init=0.1)
    layer.weight.array[...] = 7.0
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.weight.array, np.full(3, 0.1, np.float32))
    assert layer.weight.dtype == cr.float32 and layer.weight.requires_grad


# ---- functional forms -------------------------------------------------------------------------
def _t(a: np.ndarray) -> cr.Tensor:
    return cr.tensor(a, requires_grad=True)


X = _away((3, 4))
X4 = _away((2, 4, 3, 2), scale=1.0)
W4 = R.uniform(0.5, 1.5, 4)
B4 = R.standard_normal(4)
# name: (our function, torch function, float64 inputs (all differentiated))
FUNCTIONS = {
    "selu": (F.selu, TF.selu, [X]),
    "celu": (lambda x: F.celu(x, 0.7), lambda x: TF.celu(x, 0.7), [X]),
    "hardswish": (F.hardswish, TF.hardswish, [X]),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, [X]),
    "softmin": (lambda x: F.softmin(x, dim=1), lambda x: TF.softmin(x, dim=1), [X]),
    "softmin-dtype": (lambda x: F.softmin(x, 0, dtype=cr.float32),
                      lambda x: TF.softmin(x, 0, dtype=torch.float32), [X]),
    "threshold": (lambda x: F.threshold(x, 0.1, -2.0), lambda x: TF.threshold(x, 0.1, -2.0),
                  [X]),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, [X]),
    "softshrink": (F.softshrink, TF.softshrink, [X]),
    "softshrink-0.3": (lambda x: F.softshrink(x, 0.3), lambda x: TF.softshrink(x, 0.3), [X]),
    "hardshrink": (F.hardshrink, TF.hardshrink, [X]),
    "hardshrink-0.3": (lambda x: F.hardshrink(x, 0.3), lambda x: TF.hardshrink(x, 0.3), [X]),
    "prelu-shared": (F.prelu, TF.prelu, [X, np.array([0.2])]),
    "prelu-scalar": (F.prelu, TF.prelu, [X, np.array(0.3)]),
    "prelu-channels": (F.prelu, TF.prelu, [X4, W4]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b),
                   lambda x, w, b: TF.group_norm(x, 2, w, b), [X4, W4, B4]),
    "group_norm-plain": (lambda x: F.group_norm(x, 4, eps=1e-3),
                         lambda x: TF.group_norm(x, 4, eps=1e-3), [X4]),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      lambda x, w, b: TF.instance_norm(x, weight=w, bias=b), [X4, W4, B4]),
    "instance_norm-1d": (F.instance_norm, TF.instance_norm, [X4[:, :, :, 0]]),
    "instance_norm-running": (
        lambda x: F.instance_norm(x, cr.tensor(B4), cr.tensor(W4), use_input_stats=False),
        lambda x: TF.instance_norm(x, torch.tensor(B4), torch.tensor(W4), use_input_stats=False),
        [X4]),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_functional_matches_torch(name: str) -> None:
    ours_fn, torch_fn, arrays = FUNCTIONS[name]
    xo = [_t(a) for a in arrays]
    xt = [torch.tensor(a, requires_grad=True) for a in arrays]
    yo, yt = ours_fn(*xo), torch_fn(*xt)
    assert yo.dtype == getattr(cr, str(yt.dtype).removeprefix("torch."))
    rtol, atol = TOL[str(yo.dtype)]
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = R.standard_normal(yo.shape)
    yo.backward(cr.tensor(g, dtype=yo.dtype))
    yt.backward(torch.tensor(g, dtype=yt.dtype))
    grad_rtol = max(rtol, GRAD_RTOL.get(name, 0.0))
    for i, (a, b) in enumerate(zip(xo, xt)):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=grad_rtol, atol=atol,
                                   err_msg=f"input {i}")


@pytest.mark.parametrize("name", [n for n in FUNCTIONS if n != "softmin-dtype"])
def test_functional_gradcheck(name: str) -> None:
    ours_fn, _, arrays = FUNCTIONS[name]
    small = [a[:2] if a.ndim > 1 and a.shape[0] > 2 else a for a in arrays]
    assert cr.autograd.gradcheck(ours_fn, [_t(a) for a in small])


def test_float64_gradients_are_exact() -> None:
    x = cr.tensor([-3.5, -1.0, 0.5, 2.9, 3.5], dtype=cr.float64, requires_grad=True)
    F.hardsigmoid(x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [0.0, 1 / 6, 1 / 6, 1 / 6, 0.0])
    x = cr.tensor([-2.2, -1.3, -0.4, 0.6], dtype=cr.float64, requires_grad=True)
    F.celu(x, 0.7).sum().backward()
    expected = np.where(x.array > 0, 1.0, np.exp(x.array / 0.7))
    np.testing.assert_allclose(x.grad.array, expected, rtol=1e-15)


def test_instance_norm_updates_running_stats_like_torch() -> None:
    x = X4
    ro, vo = cr.tensor(B4), cr.tensor(W4)
    rt, vt = torch.tensor(B4), torch.tensor(W4)
    for _ in range(2):
        F.instance_norm(cr.tensor(x), ro, vo, momentum=0.2)
        TF.instance_norm(torch.tensor(x), rt, vt, momentum=0.2)
    np.testing.assert_allclose(ro.array, rt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(vo.array, vt.numpy(), rtol=1e-12)


def test_hardshrink_with_negative_lambd_is_the_identity_as_in_torch() -> None:
    np.testing.assert_allclose(F.hardshrink(cr.tensor(X), -1.0).array,
                               TF.hardshrink(torch.tensor(X), -1.0).numpy())


# ---- layer contract ---------------------------------------------------------------------------
def _make(rng, s):
    return _away(s)


CONTRACT = [
    (nn.SELU, {}, (3, 4), (3, 4), 0),
    (nn.CELU, {"alpha": 0.5}, (3, 4), (3, 4), 0),
    (nn.Hardswish, {}, (3, 4), (3, 4), 0),
    (nn.Hardsigmoid, {}, (3, 4), (3, 4), 0),
    (nn.Softmin, {"dim": -1}, (3, 4), (3, 4), 0),
    (nn.Threshold, {"threshold": 0.1, "value": -1.0}, (3, 4), (3, 4), 0),
    (nn.Tanhshrink, {}, (3, 4), (3, 4), 0),
    (nn.Softshrink, {}, (3, 4), (3, 4), 0),
    (nn.Hardshrink, {}, (3, 4), (3, 4), 0),
    (nn.PReLU, {}, (3, 4), (3, 4), 1),
    (nn.PReLU, {"num_parameters": 4}, (2, 4, 3), (2, 4, 3), 4),
    (nn.GroupNorm, {"num_groups": 2, "num_channels": 4}, (2, 4, 3), (2, 4, 3), 8),
    (nn.InstanceNorm1d, {"num_features": 3, "affine": True}, (2, 3, 4), (2, 3, 4), 6),
    (nn.InstanceNorm2d, {"num_features": 2}, (2, 2, 3, 3), (2, 2, 3, 3), 0),
    (nn.ZeroPad2d, {"padding": (1, 2, 0, 1)}, (2, 3, 4), (2, 4, 7), 0),
    (nn.ConstantPad1d, {"padding": 2, "value": 1.5}, (2, 3), (2, 7), 0),
]


@pytest.mark.parametrize("cls,kwargs,shape,expected,n_params", CONTRACT,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CONTRACT)])
def test_layer_contract(cls, kwargs, shape, expected, n_params) -> None:
    check_layer(cls, kwargs, shape, expected, n_params, make_input=_make)


# ---- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("make,error,match", [
    (lambda: nn.GroupNorm(4, 6), ValueError, r"num_channels \(6\).*num_groups \(4\)"),
    (lambda: nn.GroupNorm(0, 4), ValueError, "num_groups must be positive, got 0"),
    (lambda: nn.PReLU(0), ValueError, "num_parameters must be >= 1, got 0"),
    (lambda: nn.CELU(0.0), ValueError, "alpha cannot be 0"),
    (lambda: nn.Softshrink(-0.5), ValueError, "lambd must be >= 0, got -0.5"),
    (lambda: nn.ZeroPad2d((1, 2, 3)), ValueError, r"4-tuple, got \(1, 2, 3\)"),
    (lambda: nn.ConstantPad1d((1, 2, 3), 0.0), ValueError, r"2-tuple, got \(1, 2, 3\)"),
])
def test_bad_constructor_arguments_raise(make, error, match) -> None:
    with pytest.raises(error, match=match):
        make()


def test_torch_also_rejects_group_norm_with_indivisible_channels() -> None:
    with pytest.raises(ValueError, match=r"num_channels \(6\).*num_groups \(4\)"):
        torch.nn.GroupNorm(4, 6)


Z = cr.zeros


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.group_norm(Z(2, 6, 3), 4), RuntimeError, r"divisible.*\(2, 6, 3\).*num_groups=4"),
    (lambda: F.group_norm(Z(6), 2), RuntimeError, "at least 2 dimensions"),
    (lambda: nn.GroupNorm(2, 4)(Z(2, 6, 3)), ValueError, r"\(N, 4, \*\), got \(2, 6, 3\)"),
    (lambda: F.prelu(Z(2, 3, 4), Z(2)), RuntimeError, r"2 parameters.*3 channels"),
    (lambda: F.prelu(Z(3), Z(3)), RuntimeError, r"3 parameters.*1 channels"),
    (lambda: F.prelu(Z(2, 3), Z(1, 3)), RuntimeError, r"scalar or 1-D.*\(1, 3\)"),
    (lambda: nn.PReLU(3)(Z(2, 4)), RuntimeError, r"3 parameters.*4 channels"),
    (lambda: F.celu(Z(3), 0.0), ValueError, "alpha cannot be 0"),
    (lambda: F.softshrink(Z(3), -1.0), ValueError, "lambd must be >= 0, got -1.0"),
    (lambda: nn.InstanceNorm1d(3)(Z(2, 3, 4, 5)), ValueError, r"2D or 3D input.*\(2, 3, 4, 5\)"),
    (lambda: nn.InstanceNorm2d(3)(Z(3, 4)), ValueError, r"3D or 4D input.*\(3, 4\)"),
    (lambda: nn.InstanceNorm1d(3, affine=True)(Z(2, 4, 5)), ValueError,
     r"expected 3 channels \(dim 1\).*\(2, 4, 5\)"),
    (lambda: F.instance_norm(Z(2, 3, 1)), ValueError, r"more than 1 spatial element.*\(2, 3, 1\)"),
    (lambda: F.instance_norm(Z(2, 3, 4), use_input_stats=False), ValueError,
     "running_mean and running_var are needed"),
])
def test_bad_inputs_raise(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()
