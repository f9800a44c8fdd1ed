"""F.interpolate and the Upsample layers: outputs and input gradients equal PyTorch's for every
supported mode, align_corners setting, size / scale_factor / recompute_scale_factor combination
and both float dtypes; float64 gradcheck; the layer contract and reprs; and errors."""

from __future__ import annotations

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional
R = np.random.default_rng(3)

TOL = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}

# input shape, interpolate kwargs (mode given separately)
GEOMETRY_1D = [
    ((2, 3, 5), {"size": 7}),
    ((2, 3, 5), {"size": 3}),           # downsampling
    ((2, 3, 5), {"size": 10}),          # exactly 2x
    ((2, 3, 5), {"size": 5}),           # the identity
    ((2, 3, 5), {"size": 1}),
    ((1, 2, 4), {"scale_factor": 2}),
    ((1, 2, 4), {"scale_factor": 1.7}),  # sampled with 1/1.7, not 4/6
    ((1, 2, 6), {"scale_factor": 0.5}),
    ((1, 2, 5), {"scale_factor": 1.1}),  # ⌊5.5⌋ = 5: the identity, as in PyTorch
    ((1, 2, 7), {"scale_factor": 2.6}),
    ((1, 2, 7), {"scale_factor": 2.6, "recompute_scale_factor": True}),
    ((1, 2, 3), {"scale_factor": (3.0,)}),
    ((1, 1, 1), {"size": 4}),
]
GEOMETRY_2D = [
    ((2, 3, 3, 4), {"size": (5, 7)}),
    ((2, 3, 3, 4), {"size": 6}),
    ((1, 2, 6, 5), {"size": (2, 3)}),    # downsampling
    ((1, 2, 4, 4), {"size": (4, 9)}),    # identity along H
    ((1, 2, 3, 4), {"size": (1, 1)}),
    ((1, 2, 3, 4), {"scale_factor": 2}),
    ((1, 2, 3, 4), {"scale_factor": (1.5, 2.3)}),
    ((1, 2, 5, 6), {"scale_factor": (0.6, 1.7)}),
    ((1, 2, 5, 6), {"scale_factor": (0.6, 1.7), "recompute_scale_factor": True}),
    ((2, 1, 4, 3), {"scale_factor": 3.3}),
]
CASES = (
    [("nearest", None, s, k) for s, k in GEOMETRY_1D + GEOMETRY_2D]
    + [("nearest-exact", None, s, k) for s, k in GEOMETRY_1D + GEOMETRY_2D]
    + [("linear", ac, s, k) for ac in (False, True, None) for s, k in GEOMETRY_1D]
    + [("bilinear", ac, s, k) for ac in (False, True, None) for s, k in GEOMETRY_2D]
    + [("area", None, s, k) for s, k in GEOMETRY_1D[:3] + GEOMETRY_2D[:3]
       + [GEOMETRY_1D[7], GEOMETRY_2D[6]]]
)
IDS = [f"{m}-ac{ac}-{s}-{k}".replace(" ", "") for m, ac, s, k in CASES]


def _both(mode, align_corners, shape, kwargs, dtype):
    a = R.standard_normal(shape).astype(dtype)
    xo = cr.tensor(a, requires_grad=True)
    xt = torch.tensor(a, requires_grad=True)
    extra = {} if align_corners is None else {"align_corners": align_corners}
    yo = F.interpolate(xo, mode=mode, **extra, **kwargs)
    yt = TF.interpolate(xt, mode=mode, **extra, **kwargs)
    return xo, xt, yo, yt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode,align_corners,shape,kwargs", CASES, ids=IDS)
def test_interpolate_matches_torch(mode, align_corners, shape, kwargs, dtype) -> None:
    rtol, atol = TOL[dtype]
    xo, xt, yo, yt = _both(mode, align_corners, shape, kwargs, dtype)
    assert tuple(yo.shape) == tuple(yt.shape) and yo.dtype == getattr(cr, dtype)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = R.standard_normal(yo.shape).astype(dtype)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    if _torch_1d_nearest_backward_disagrees(mode, shape, yo.shape, kwargs):
        # torch's 1-D nearest backward copies (m = n) or halves (m = 2n) although its forward
        # sampled with 1/scale_factor; ours is the adjoint of the forward we share with torch
        x = np.arange(shape[-1], dtype=dtype).reshape(1, 1, -1)
        src = F.interpolate(cr.tensor(x), mode=mode, **kwargs).array[0, 0].astype(int)
        want = np.zeros(shape, dtype)
        np.add.at(want, (slice(None), slice(None), src), g)
        np.testing.assert_allclose(xo.grad.array, want, rtol=rtol, atol=atol)
        return
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), rtol=rtol, atol=atol * 10)


def _torch_1d_nearest_backward_disagrees(mode, shape, out_shape, kwargs) -> bool:
    """True where torch's 1-D nearest backward takes its m = n / m = 2n shortcut but its
    forward (sampling with 1/scale_factor) picked other sources."""
    n, m = shape[-1], out_shape[-1]
    if mode != "nearest" or len(shape) != 3 or m not in (n, 2 * n):
        return False
    src = F.interpolate(cr.arange(n, dtype=cr.float64).reshape(1, 1, n), **kwargs).array
    return not np.array_equal(src.ravel().astype(int), np.arange(m) * n // m)


def test_torch_1d_nearest_forward_and_backward_disagree() -> None:
    """The quirk worked around above: 5 → 5 with scale_factor=1.1 samples [0, 0, 1, 2, 3]
    forward, yet torch's backward sends the gradient to [0, 1, 2, 3, 4]."""
    x = torch.arange(5.0).reshape(1, 1, 5).requires_grad_()
    y = TF.interpolate(x, scale_factor=1.1)
    assert y.detach().flatten().tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]
    y.sum().backward()
    assert x.grad.flatten().tolist() == [1.0, 1.0, 1.0, 1.0, 1.0]  # should be [2, 1, 1, 1, 0]
    ours = cr.tensor(np.arange(5.0).reshape(1, 1, 5), requires_grad=True)
    F.interpolate(ours, scale_factor=1.1).sum().backward()
    assert ours.grad.array.flatten().tolist() == [2.0, 1.0, 1.0, 1.0, 0.0]


def test_nearest_and_linear_indices_match_torch_on_many_sizes() -> None:
    """Exhaustive small sizes: the source indices and weights (float32 coordinates) agree."""
    for n in range(1, 9):
        x = np.arange(n, dtype=np.float32)[None, None] * 7.0 + 1.0
        for m in range(1, 20):
            for mode, acs in (("nearest", [None]), ("nearest-exact", [None]),
                              ("linear", [False, True])):
                for ac in acs:
                    kw = {} if ac is None else {"align_corners": ac}
                    got = F.interpolate(cr.tensor(x), size=m, mode=mode, **kw).array
                    want = TF.interpolate(torch.tensor(x), size=m, mode=mode, **kw).numpy()
                    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6,
                                               err_msg=f"{mode} ac={ac} {n}->{m}")


GRADCHECK = [
    ("nearest", None, (1, 2, 3), {"size": 5}),
    ("nearest", None, (1, 1, 2, 3), {"scale_factor": (1.5, 2.0)}),
    ("nearest-exact", None, (1, 1, 3, 2), {"size": (4, 5)}),
    ("linear", False, (1, 2, 3), {"size": 5}),
    ("linear", True, (1, 2, 4), {"scale_factor": 0.5}),
    ("bilinear", False, (1, 1, 2, 3), {"size": (4, 5)}),
    ("bilinear", True, (1, 2, 3, 2), {"scale_factor": 1.7}),
    ("area", None, (1, 1, 4, 5), {"size": (2, 3)}),
]


@pytest.mark.parametrize("mode,align_corners,shape,kwargs", GRADCHECK,
                         ids=[f"{c[0]}-{c[1]}" for c in GRADCHECK])
def test_interpolate_gradcheck(mode, align_corners, shape, kwargs) -> None:
    x = cr.tensor(R.standard_normal(shape), dtype=cr.float64, requires_grad=True)
    extra = {} if align_corners is None else {"align_corners": align_corners}
    assert cr.autograd.gradcheck(lambda t: F.interpolate(t, mode=mode, **extra, **kwargs), [x])


def test_interpolate_is_composed_of_existing_ops() -> None:
    x = cr.tensor(R.standard_normal((1, 1, 3, 3)), requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="bilinear")
    names, stack, seen = set(), [y], set()
    while stack:
        t = stack.pop()
        if not isinstance(t, cr.Tensor) or t.grad_fn is None or id(t) in seen:
            continue
        seen.add(id(t))
        names.add(t.grad_fn.name)
        stack.extend(t.grad_fn.inputs)
    assert names <= {"getitem", "mul", "add"}, names


# ---- layers -----------------------------------------------------------------------------------
LAYERS = [
    ("Upsample", {"scale_factor": 2}, (2, 3, 4)),
    ("Upsample", {"size": 7, "mode": "linear"}, (2, 3, 4)),
    ("Upsample", {"size": 7, "mode": "linear", "align_corners": True}, (2, 3, 4)),
    ("Upsample", {"scale_factor": (1.5, 2.0), "mode": "bilinear"}, (1, 2, 3, 4)),
    ("Upsample", {"size": (5, 2), "mode": "nearest"}, (1, 2, 3, 4)),
    ("Upsample", {"scale_factor": 2.5, "mode": "bilinear", "recompute_scale_factor": True},
     (1, 2, 3, 4)),
    ("UpsamplingNearest2d", {"scale_factor": 3}, (2, 1, 2, 3)),
    ("UpsamplingNearest2d", {"size": (4, 5)}, (2, 1, 2, 3)),
    ("UpsamplingBilinear2d", {"scale_factor": 2}, (2, 2, 3, 3)),
    ("UpsamplingBilinear2d", {"size": (5, 4)}, (2, 2, 3, 3)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs,shape", LAYERS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYERS)])
def test_layer_matches_torch(name, kwargs, shape, dtype) -> None:
    rtol, atol = TOL[dtype]
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    a = R.standard_normal(shape).astype(dtype)
    xo, xt = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = R.standard_normal(yo.shape).astype(dtype)
    yo.backward(cr.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), rtol=rtol, atol=atol * 10)


@pytest.mark.parametrize("cls,kwargs,shape,expected", [
    (nn.Upsample, {"scale_factor": 2, "mode": "linear"}, (2, 3, 4), (2, 3, 8)),
    (nn.Upsample, {"size": (3, 5)}, (2, 1, 2, 2), (2, 1, 3, 5)),
    (nn.UpsamplingNearest2d, {"scale_factor": 2}, (1, 2, 3, 3), (1, 2, 6, 6)),
    (nn.UpsamplingBilinear2d, {"size": 4}, (1, 2, 3, 2), (1, 2, 4, 4)),
])
def test_layer_contract(cls, kwargs, shape, expected) -> None:
    check_layer(cls, kwargs, shape, expected, 0)


def test_upsample_stores_float_scale_factors_as_torch_does() -> None:
    assert nn.Upsample(scale_factor=2).scale_factor == 2.0
    assert nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)
    assert nn.Upsample(size=3).scale_factor is None
    assert nn.UpsamplingBilinear2d(scale_factor=2).align_corners is True


# ---- errors -----------------------------------------------------------------------------------
Z3, Z4 = cr.zeros(1, 2, 4), cr.zeros(1, 2, 3, 4)


@pytest.mark.parametrize("call,error,match", [
    (lambda: F.interpolate(Z4, scale_factor=2, mode="bicubic"), NotImplementedError,
     "mode 'bicubic' is not supported"),
    (lambda: F.interpolate(Z3, size=5, mode="cubic"), NotImplementedError,
     "mode 'cubic' is not supported"),
    (lambda: F.interpolate(cr.zeros(1, 1, 2, 2, 2), size=3, mode="trilinear"),
     NotImplementedError, "mode 'trilinear'"),
    (lambda: F.interpolate(Z4, size=5, antialias=True, mode="bilinear"), NotImplementedError,
     "antialias"),
    (lambda: F.interpolate(Z4, size=5, mode="linear"), NotImplementedError,
     r"4D input of shape \(1, 2, 3, 4\), but linear mode needs 3D"),
    (lambda: F.interpolate(Z3, size=5, mode="bilinear"), NotImplementedError,
     r"3D input of shape \(1, 2, 4\), but bilinear mode needs 4D"),
    (lambda: F.interpolate(cr.zeros(2, 4), size=5), NotImplementedError,
     r"3-D .* and 4-D .* got shape \(2, 4\)"),
    (lambda: F.interpolate(cr.zeros(1, 1, 2, 2, 2), size=3), NotImplementedError,
     r"got shape \(1, 1, 2, 2, 2\)"),
    (lambda: F.interpolate(Z3, size=5, align_corners=True), ValueError,
     "align_corners option can only be set.*mode='nearest'"),
    (lambda: F.interpolate(Z3, size=5, scale_factor=2), ValueError,
     "only one of size or scale_factor"),
    (lambda: F.interpolate(Z3), ValueError, "either size or scale_factor"),
    (lambda: F.interpolate(Z4, size=(2, 3, 4)), ValueError,
     r"spatial dimensions of \[3, 4\] and size \(2, 3, 4\)"),
    (lambda: F.interpolate(Z4, scale_factor=(2.0,)), ValueError,
     r"spatial dimensions of \[3, 4\] and scale_factor \(2.0,\)"),
    (lambda: F.interpolate(Z3, size=2.5), TypeError, "expected size to be an int"),
    (lambda: F.interpolate(Z3, size=0), ValueError, r"greater than 0.*output \(0,\)"),
    (lambda: F.interpolate(Z3, scale_factor=0.1), ValueError, r"output \(0,\)"),
    (lambda: F.interpolate(Z3, size=3, recompute_scale_factor=True), ValueError,
     "recompute_scale_factor is not meaningful"),
    (lambda: nn.Upsample(scale_factor=2, mode="bicubic")(Z4), NotImplementedError, "bicubic"),
])
def test_bad_arguments_raise(call, error, match) -> None:
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: TF.interpolate(torch.zeros(1, 2, 3, 4), size=5, mode="linear"),
    lambda: TF.interpolate(torch.zeros(1, 2, 4), size=5, align_corners=True),
    lambda: TF.interpolate(torch.zeros(1, 2, 4), size=5, scale_factor=2),
    lambda: TF.interpolate(torch.zeros(1, 2, 3, 4), size=(2, 3, 4)),
    lambda: TF.interpolate(torch.zeros(1, 2, 4), size=0),
])
def test_torch_rejects_the_same_arguments(call) -> None:
    with pytest.raises((RuntimeError, ValueError, NotImplementedError)):
        call()
