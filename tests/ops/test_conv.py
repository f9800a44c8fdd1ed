"""Convolution and pooling ops: gradients across stride/padding/dilation/groups, forward against
naive NumPy loops, forward-mode rules, 'same' padding, max-pool routing, weight sharing, errors,
dtypes, and parity with PyTorch's functional ops."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from specs_conv import np_conv2d, np_conv_transpose2d, np_fold, np_max_pool2d, np_unfold

import chainrule as cr
from chainrule import kernels
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.func import jvp, vjp
from chainrule.ops.adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from chainrule.ops.conv import Conv2dWeight, conv1d, conv2d
from chainrule.ops.conv_transpose import conv_transpose2d
from chainrule.ops.fold import fold, unfold
from chainrule.ops.pool import (
    MaxPoolScatter,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)

RNG = np.random.default_rng(0)


def t64(*shape: int, grad: bool = True) -> cr.Tensor:
    return cr.tensor(RNG.standard_normal(shape), dtype=np.float64, requires_grad=grad)


# (N, C, H, W, O, kernel, stride, padding, dilation, groups)
CONV_CASES = [
    (2, 3, 6, 5, 4, 3, 1, 0, 1, 1),
    (1, 4, 7, 7, 6, (3, 2), (2, 1), (1, 0), 1, 2),
    (2, 2, 8, 6, 2, 2, 2, 1, (2, 1), 1),
    (1, 3, 5, 5, 3, 3, 1, 1, 1, 3),  # depthwise
    (1, 2, 5, 6, 4, 3, 1, "same", 2, 2),
    (1, 2, 5, 5, 2, 4, 1, "same", 1, 1),  # even kernel: the extra pad goes bottom/right
    (2, 1, 4, 4, 2, 1, 3, "valid", 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_and_gradcheck(case: tuple[Any, ...]) -> None:
    n, c, h, w, o, k, s, p, d, g = case
    kk = (k, k) if isinstance(k, int) else k
    x, wt, b = t64(n, c, h, w), t64(o, c // g, *kk), t64(o)
    out = conv2d(x, wt, b, s, p, d, g)
    s2, d2 = ((s, s) if isinstance(s, int) else s), ((d, d) if isinstance(d, int) else d)
    if p == "same":
        tot = [dd * (ki - 1) for ki, dd in zip(kk, d2)]
        xp_ = np.pad(x.array, ((0, 0), (0, 0), (tot[0] // 2, tot[0] - tot[0] // 2),
                              (tot[1] // 2, tot[1] - tot[1] // 2)))
        want = np_conv2d(xp_, wt.array, b.array, s2, (0, 0), d2, g)
        assert out.shape[2:] == (h, w)
    else:
        p2 = (0, 0) if p == "valid" else (p, p) if isinstance(p, int) else p
        want = np_conv2d(x.array, wt.array, b.array, s2, p2, d2, g)
    np.testing.assert_allclose(out.array, want, atol=1e-12)
    assert gradcheck(lambda x, wt, b: conv2d(x, wt, b, s, p, d, g), [x, wt, b])


@pytest.mark.parametrize("case", CONV_CASES[:4], ids=str)
def test_conv2d_second_derivatives(case: tuple[Any, ...]) -> None:
    n, c, h, w, o, k, s, p, d, g = case
    kk = (k, k) if isinstance(k, int) else k
    x, wt = t64(n, c, h, w), t64(o, c // g, *kk)
    assert gradgradcheck(lambda x, wt: conv2d(x, wt, None, s, p, d, g), [x, wt])


# (N, C_in, H, W, C_out, kernel, stride, padding, output_padding, groups, dilation)
CONVT_CASES = [
    (2, 3, 4, 3, 2, 3, 1, 0, 0, 1, 1),
    (1, 4, 3, 4, 6, (3, 2), 2, (1, 0), 1, 2, 1),
    (1, 2, 3, 3, 2, 2, (2, 3), 1, (1, 2), 1, (2, 1)),
]


@pytest.mark.parametrize("case", CONVT_CASES, ids=str)
def test_conv_transpose2d_forward_and_gradients(case: tuple[Any, ...]) -> None:
    n, c, h, w, o, k, s, p, op, g, d = case
    kk = (k, k) if isinstance(k, int) else k
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    y, wt, b = t64(n, c, h, w), t64(c, o // g, *kk), t64(o)
    out = conv_transpose2d(y, wt, b, s, p, op, g, d)
    want = np_conv_transpose2d(y.array, wt.array, b.array, pair(s), pair(p), pair(op), g, pair(d))
    np.testing.assert_allclose(out.array, want, atol=1e-12)
    assert gradcheck(lambda y, wt, b: conv_transpose2d(y, wt, b, s, p, op, g, d), [y, wt, b])
    assert gradgradcheck(lambda y, wt: conv_transpose2d(y, wt, None, s, p, op, g, d), [y, wt])


def test_conv_transpose_is_the_adjoint_of_conv() -> None:
    """<conv2d(x, w), y> = <x, conv_transpose2d(y, w)> for matching geometry."""
    x, w = t64(2, 3, 7, 7, grad=False), t64(4, 3, 3, 3, grad=False)
    y = conv2d(x, w, stride=2, padding=1)
    v = t64(*y.shape, grad=False)
    back = conv_transpose2d(v, w, stride=2, padding=1, output_padding=0)
    assert back.shape == x.shape
    np.testing.assert_allclose((y * v).sum().item(), (x * back).sum().item(), rtol=1e-12)


def test_conv1d_matches_reference_and_gradcheck() -> None:
    x, w, b = t64(2, 4, 9), t64(6, 2, 3), t64(6)
    out = conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2)
    want = np_conv2d(x.array[:, :, None], w.array[:, :, None], b.array, (1, 2), (0, 1), (1, 2),
                     2)[:, :, 0]
    np.testing.assert_allclose(out.array, want, atol=1e-12)
    assert gradcheck(lambda x, w, b: conv1d(x, w, b, 2, 1, 2, 2), [x, w, b])
    same = conv1d(x, w, None, padding="same", groups=2)
    assert same.shape == (2, 6, 9)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_same_padding_is_floor_half_kernel_for_odd_k(k: int) -> None:
    x, w = t64(1, 2, 7, 6, grad=False), t64(3, 2, k, k, grad=False)
    same = conv2d(x, w, padding="same")
    explicit = conv2d(x, w, padding=k // 2)
    assert same.shape == (1, 3, 7, 6)
    np.testing.assert_array_equal(same.array, explicit.array)


def test_unbatched_inputs() -> None:
    x, w = t64(2, 5, 5, grad=False), t64(3, 2, 3, 3, grad=False)
    np.testing.assert_allclose(conv2d(x, w).array, conv2d(x.unsqueeze(0), w).array[0])
    assert max_pool2d(x, 2).shape == (2, 2, 2)
    assert conv1d(t64(2, 6, grad=False), t64(3, 2, 3, grad=False)).shape == (3, 4)


@pytest.mark.parametrize("args", [((2, 3), 1, 1, (2, 1)), (2, (1, 2), 0, 1), (3, 1, (1, 0), 2)],
                         ids=str)
def test_unfold_fold(args: tuple[Any, ...]) -> None:
    k, d, p, s = args
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    x = t64(2, 3, 7, 6)
    cols = unfold(x, k, d, p, s)
    np.testing.assert_allclose(cols.array, np_unfold(x.array, pair(k), pair(d), pair(p), pair(s)))
    c = t64(*cols.shape)
    back = fold(c, (7, 6), k, d, p, s)
    np.testing.assert_allclose(back.array, np_fold(c.array, (7, 6), pair(k), pair(d), pair(p),
                                                  pair(s)), atol=1e-12)
    assert gradcheck(lambda x: unfold(x, k, d, p, s), [x])
    assert gradcheck(lambda c: fold(c, (7, 6), k, d, p, s), [c])


def test_convolution_is_unfold_then_matmul() -> None:
    x, w = t64(2, 3, 6, 6, grad=False), t64(4, 3, 3, 3, grad=False)
    cols = unfold(x, 3, padding=1)  # (N, C·9, L)
    via_gemm = (w.reshape(4, -1) @ cols).reshape(2, 4, 6, 6)
    np.testing.assert_allclose(conv2d(x, w, padding=1).array, via_gemm.array, atol=1e-12)


def test_weight_gradient_is_the_sum_over_positions() -> None:
    """Convolution is weight sharing: the same kernel acts at every position, so its gradient
    is the sum over positions (and batch) of g[n, o, pos] times the patch at pos."""
    x, w = t64(2, 3, 6, 5, grad=False), t64(4, 3, 3, 2)
    y = conv2d(x, w, stride=1, padding=1)
    g = RNG.standard_normal(y.shape)
    y.backward(cr.tensor(g, dtype=np.float64))
    patches = np_unfold(x.array, (3, 2), (1, 1), (1, 1), (1, 1))  # (N, C·kk, L)
    gl = g.reshape(2, 4, -1)
    per_position = np.einsum("nol,nkl->lok", gl, patches)  # one outer product per position
    np.testing.assert_allclose(w.grad.array, per_position.sum(0).reshape(w.shape), atol=1e-10)


def _check_jvp(fn: Any, *inputs: cr.Tensor) -> None:
    """Forward mode agrees with reverse mode: <J·t, v> = <t, Jᵀ·v>."""
    tangents = tuple(cr.tensor(RNG.standard_normal(x.shape), dtype=np.float64) for x in inputs)
    primals = tuple(x.detach() for x in inputs)
    out, jt = jvp(fn, primals, tangents)
    v = cr.tensor(RNG.standard_normal(out.shape), dtype=np.float64)
    _, pull = vjp(fn, *primals)
    vjs = pull(v)
    lhs = float((jt * v).sum().item())
    rhs = sum(float((t * g).sum().item()) for t, g in zip(tangents, vjs))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-10)


def test_forward_mode_rules() -> None:
    _check_jvp(lambda x, w, b: conv2d(x, w, b, 2, 1, 1, 2), t64(2, 4, 6, 5), t64(4, 2, 3, 3),
               t64(4))
    _check_jvp(lambda y, w, b: conv_transpose2d(y, w, b, 2, 1, 1), t64(1, 3, 3, 4),
               t64(3, 2, 3, 3), t64(2))
    _check_jvp(lambda x: max_pool2d(x, 3, 2, 1), t64(2, 2, 7, 6))
    _check_jvp(lambda x: unfold(x, 2, 1, 1, 2), t64(1, 2, 5, 5))
    _check_jvp(lambda c: fold(c, (5, 5), 2, 1, 0, 1), t64(1, 8, 16))
    _check_jvp(lambda x: avg_pool2d(x, 3, 2, 1, count_include_pad=False), t64(1, 2, 6, 7))


# ---- pooling --------------------------------------------------------------------------------
def test_max_pool_gradient_flows_only_through_the_max() -> None:
    x = t64(2, 3, 8, 8)
    y = max_pool2d(x, 2)
    g = RNG.standard_normal(y.shape)
    y.backward(cr.tensor(g, dtype=np.float64))
    windows = x.array.reshape(2, 3, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 4, 4, 4)
    gwin = x.grad.array.reshape(2, 3, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 4, 4,
                                                                                        4)
    hot = windows.argmax(-1)
    np.testing.assert_array_equal(np.take_along_axis(gwin, hot[..., None], -1)[..., 0], g)
    assert np.count_nonzero(gwin) == np.count_nonzero(g)  # every other element gets zero


def test_max_pool_ties_go_to_the_first_maximum() -> None:
    x = cr.zeros(1, 1, 4, 4, dtype=cr.float64, requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    want = np.zeros((4, 4))
    want[::2, ::2] = 1
    np.testing.assert_array_equal(x.grad.array[0, 0], want)


@pytest.mark.parametrize("args", [(2, None, 0, 1), (3, 2, 1, 1), ((3, 2), (2, 1), (1, 0), (2, 1)),
                                  (3, 1, 1, 1)], ids=str)
def test_max_pool2d_forward_and_gradcheck(args: tuple[Any, ...]) -> None:
    from specs import distinct

    k, s, p, d = args
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    x = cr.tensor(distinct(RNG, (2, 2, 9, 8)), dtype=np.float64, requires_grad=True)
    out = max_pool2d(x, k, s, p, d)
    want = np_max_pool2d(x.array, pair(k), pair(k if s is None else s), pair(p), pair(d))
    np.testing.assert_array_equal(out.array, want)
    assert gradcheck(lambda x: max_pool2d(x, k, s, p, d), [x])
    assert gradgradcheck(lambda x: max_pool2d(x, k, s, p, d), [x])


def test_avg_pool_and_adaptive_gradcheck() -> None:
    x = t64(2, 2, 7, 6)
    assert gradcheck(lambda x: avg_pool2d(x, 3, 2, 1, True, False), [x])
    assert gradcheck(lambda x: adaptive_avg_pool2d(x, (3, 4)), [x])
    x1 = t64(2, 3, 9)
    assert gradcheck(lambda x: avg_pool1d(x, 3, 2, 1), [x1])
    assert gradcheck(lambda x: max_pool1d(x, 3, 2, 1), [x1])
    assert gradcheck(lambda x: adaptive_avg_pool1d(x, 4), [x1])


def test_float32_stays_float32() -> None:
    x = cr.randn(2, 3, 8, 8, requires_grad=True)
    w = cr.randn(4, 3, 3, 3, requires_grad=True)
    y = max_pool2d(conv2d(x, w, padding=1).relu(), 2)
    y = avg_pool2d(y, 2) + adaptive_avg_pool2d(y, 2)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


# ---- errors ---------------------------------------------------------------------------------
def test_error_messages_name_the_op_and_shapes() -> None:
    x, w = cr.randn(1, 1, 3, 3), cr.randn(1, 1, 5, 5)
    with pytest.raises(RuntimeError, match=r"conv2d: kernel \(5, 5\) is larger than the padded "
                                           r"input \(3, 3\)"):
        conv2d(x, w)
    with pytest.raises(RuntimeError, match=r"conv2d: expected a 4-D input .* got shape \(3, 3\)"):
        conv2d(cr.randn(3, 3), w)
    with pytest.raises(RuntimeError, match=r"conv2d: input of shape \(1, 4, 5, 5\) and weight "
                                           r"of shape \(2, 3, 3, 3\)"):
        conv2d(cr.randn(1, 4, 5, 5), cr.randn(2, 3, 3, 3))
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        conv2d(cr.randn(1, 1, 5, 5), cr.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match=r"max_pool2d: kernel \(4, 4\) is larger than the "
                                           r"padded input \(3, 3\)"):
        max_pool2d(x, 4)
    with pytest.raises(ValueError, match="padding should be at most half"):
        max_pool2d(cr.randn(1, 1, 6, 6), 2, padding=2)
    with pytest.raises(RuntimeError, match=r"conv1d: kernel \(5,\) is larger"):
        conv1d(cr.randn(1, 1, 3), cr.randn(1, 1, 5))
    with pytest.raises(RuntimeError, match="fold: input of shape"):
        fold(cr.randn(1, 4, 5), (4, 4), 2)


@pytest.mark.parametrize("jit", [True, False], ids=["kernels", "numpy"])
def test_backward_primitives_refuse_a_gradient_of_the_wrong_shape(jit: bool) -> None:
    """The weight gradient and the max-pool scatter index windows without bounds checks: a
    gradient whose shape does not fit the input is refused, naming the op and the shapes."""
    geom = {"stride": (1, 1), "pads": ((0, 0), (0, 0)), "dilation": (1, 1), "groups": 1}
    x = np.ones((2, 3, 6, 6), np.float32)
    scatter = {"kernel": (2, 2), "stride": (2, 2), "pads": ((0, 0), (0, 0)),
               "dilation": (1, 1), "out_size": (3, 3), "shape": (2, 3, 6, 6),
               "argmax": np.zeros((2, 3, 3, 3), np.int16)}
    with kernels.use_jit(jit):
        for g in (np.ones((2, 4, 5, 5), np.float32), np.ones((2, 4, 9, 9), np.float32),
                  np.ones((3, 4, 4, 4), np.float32)):
            want = (f"conv2d_weight: gradient of shape {tuple(g.shape)} does not fit input "
                    "of shape (2, 3, 6, 6)")
            with pytest.raises(RuntimeError, match=re.escape(want)):
                Conv2dWeight.apply(cr.from_numpy(x), cr.from_numpy(g), kernel=(3, 3), **geom)
        with pytest.raises(RuntimeError, match=r"max_pool_scatter: .*\(2, 3, 5, 5\)"):
            MaxPoolScatter.apply(cr.from_numpy(np.ones((2, 3, 5, 5), np.float32)), **scatter)


# ---- parity with PyTorch (float32, realistic sizes) ------------------------------------------
def test_functional_parity_with_torch() -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = RNG.standard_normal((4, 6, 13, 11)).astype(np.float32)
    w = RNG.standard_normal((8, 3, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(8).astype(np.float32)
    cx, cw, cb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    cy = max_pool2d(conv2d(cx, cw, cb, 2, 1, 1, 2), 2, ceil_mode=True)
    ty = F.max_pool2d(F.conv2d(tx, tw, tb, 2, 1, 1, 2), 2, ceil_mode=True)
    np.testing.assert_allclose(cy.array, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = RNG.standard_normal(cy.shape).astype(np.float32)
    cy.backward(cr.tensor(g))
    ty.backward(torch.tensor(g))
    for c, t in ((cx, tx), (cw, tw), (cb, tb)):
        np.testing.assert_allclose(c.grad.array, t.grad.numpy(), rtol=1e-4, atol=1e-4)
    for kw in ({"count_include_pad": True}, {"count_include_pad": False},
               {"ceil_mode": True}, {"divisor_override": 3}):
        np.testing.assert_allclose(avg_pool2d(cr.tensor(x), 3, 2, 1, **kw).array,
                                   F.avg_pool2d(torch.tensor(x), 3, 2, 1, **kw).numpy(),
                                   rtol=1e-5, atol=1e-6)
    for size in ((4, 3), (13, 11), 1, (None, 5)):
        np.testing.assert_allclose(adaptive_avg_pool2d(cr.tensor(x), size).array,
                                   F.adaptive_avg_pool2d(torch.tensor(x), size).numpy(),
                                   rtol=1e-5, atol=1e-6)
    y, idx = max_pool2d(cr.tensor(x), 3, 2, 1, 1, True, return_indices=True)
    ty, tidx = F.max_pool2d(torch.tensor(x), 3, 2, 1, 1, True, return_indices=True)
    np.testing.assert_array_equal(idx.array, tidx.numpy())
    x1 = x.reshape(4, 6, -1)
    np.testing.assert_allclose(max_pool1d(cr.tensor(x1), 4, 3, 2).array,
                               F.max_pool1d(torch.tensor(x1), 4, 3, 2).numpy())
    np.testing.assert_allclose(avg_pool1d(cr.tensor(x1), 4, 3, 2, False, False).array,
                               F.avg_pool1d(torch.tensor(x1), 4, 3, 2, False, False).numpy(),
                               rtol=1e-5, atol=1e-6)
    wt = RNG.standard_normal((6, 2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        conv_transpose2d(cr.tensor(x), cr.tensor(wt), None, 2, 1, 1, 3, 1).array,
        F.conv_transpose2d(torch.tensor(x), torch.tensor(wt), None, 2, 1, 1, 3, 1).numpy(),
        rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(unfold(cr.tensor(x), (2, 3), 2, 1, 2).array,
                               F.unfold(torch.tensor(x), (2, 3), 2, 1, 2).numpy())


def test_retained_graph_backward_twice_gives_the_same_weight_gradient() -> None:
    """The forward's im2col buffer is handed to the first backward and then released; a
    second backward through a retained graph recomputes it."""
    x, w = t64(2, 3, 6, 6, grad=False), t64(4, 3, 3, 3)
    y = conv2d(x, w, padding=1, stride=2)
    y.sum().backward(retain_graph=True)
    first = w.grad.array.copy()
    w.grad = None
    y.sum().backward()
    np.testing.assert_allclose(w.grad.array, first, rtol=1e-12)
    assert "_cols" not in y.grad_fn.__dict__
