"""The fused layer primitives (layer norm, attention, GELU) against the unfused ops they
replace: values and gradients equal to 1e-6 in float64 under random upstream gradients,
second derivatives and forward-mode tangents through the composite twins, float32 close to
float64, and the layers that call them (MultiheadAttention) unchanged by the fast path."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.ops.attention import ScaledDotProductAttention
from chainrule.ops.normalization import LayerNorm
from chainrule.ops.unary import erf, tanh


def _leaves(rng: np.random.Generator, *shapes: tuple[int, ...]) -> list[cr.Tensor]:
    return [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _value_and_grads(fn, xs: list[cr.Tensor], g: np.ndarray) -> list[np.ndarray]:
    for x in xs:
        x.grad = None
    out = fn(*xs)
    out.backward(cr.tensor(g))
    return [out.array.copy(), *(x.grad.array.copy() for x in xs)]


def _assert_same(fused, twin, xs: list[cr.Tensor], seed: int) -> None:
    out_shape = fused(*xs).shape
    g = np.random.default_rng(seed + 1).standard_normal(tuple(out_shape))
    for a, b in zip(_value_and_grads(fused, xs, g), _value_and_grads(twin, xs, g)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def _gelu_unfused(x: cr.Tensor, approximate: str) -> cr.Tensor:
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("ndim", [1, 2])
def test_layer_norm_equals_its_twin(seed: int, affine: bool, ndim: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (2, 3, 4, 5)
    xs = _leaves(rng, shape, *([shape[-ndim:]] * 2 if affine else []))
    params = {"ndim": ndim, "eps": 1e-5}
    _assert_same(lambda *a: LayerNorm.apply(*a, **params),
                 lambda *a: LayerNorm.composite(*a, **params), xs, seed)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_equals_its_twin(seed: int, causal: bool, masked: bool) -> None:
    rng = np.random.default_rng(seed)
    xs = _leaves(rng, (2, 3, 5, 4), (1, 3, 6, 4), (2, 1, 6, 3), *([(5, 6)] if masked else []))
    params = {"scale": 0.7, "is_causal": causal}
    _assert_same(lambda *a: ScaledDotProductAttention.apply(*a, **params),
                 lambda *a: ScaledDotProductAttention.composite(*a, **params), xs, seed)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_equals_the_unfused_formula(seed: int, approximate: str) -> None:
    xs = _leaves(np.random.default_rng(seed), (4, 7))
    _assert_same(lambda x: F.gelu(x, approximate=approximate),
                 lambda x: _gelu_unfused(x, approximate), xs, seed)


@pytest.mark.parametrize("case", ["layer_norm", "attention", "gelu"])
def test_second_derivatives_and_tangents_follow_the_twin(case: str) -> None:
    rng = np.random.default_rng(7)
    if case == "layer_norm":
        xs = _leaves(rng, (3, 4), (4,), (4,))
        fused = lambda *a: LayerNorm.apply(*a, ndim=1, eps=1e-5)  # noqa: E731
        twin = lambda *a: LayerNorm.composite(*a, ndim=1, eps=1e-5)  # noqa: E731
    elif case == "attention":
        xs = _leaves(rng, (2, 3, 4), (2, 5, 4), (2, 5, 2))
        fused = lambda *a: ScaledDotProductAttention.apply(*a, scale=0.5, is_causal=True)  # noqa
        twin = lambda *a: ScaledDotProductAttention.composite(*a, scale=0.5, is_causal=True)  # noqa
    else:
        xs = _leaves(rng, (3, 4))
        fused = F.gelu  # noqa: E731
        twin = lambda x: _gelu_unfused(x, "none")  # noqa: E731
    # d/dx of (Σ ∂f/∂x · c): a gradient through the recorded backward
    c = [cr.tensor(rng.standard_normal(tuple(x.shape))) for x in xs]
    second = []
    for fn in (fused, twin):
        gs = cr.autograd.grad([fn(*xs).sum()], xs, create_graph=True)
        total = sum((gi * ci).sum() for gi, ci in zip(gs, c))
        hs = cr.autograd.grad([total], xs, allow_unused=True)  # layer norm: b enters linearly
        second.append([np.zeros(x.shape) if h is None else h.array for x, h in zip(xs, hs)])
    for a, b in zip(*second):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # forward mode
    tangents = [rng.standard_normal(tuple(x.shape)) for x in xs]
    primals = tuple(x.detach() for x in xs)
    jvps = [cr.func.jvp(fn, primals, tuple(cr.tensor(t) for t in tangents))[1].array
            for fn in (fused, twin)]
    np.testing.assert_allclose(jvps[0], jvps[1], rtol=1e-6, atol=1e-6)


def test_float32_is_float64_to_float32_precision() -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in ((2, 4, 16, 8), (2, 4, 16, 8), (2, 4, 16, 8))]
    out = {}
    for dt in (np.float64, np.float32):
        q, k, v = (cr.tensor(a.astype(dt), requires_grad=True) for a in arrays)
        h = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = F.gelu(F.layer_norm(h, (8,)))
        y.backward(cr.tensor(np.ones(y.shape, dt)))
        assert y.dtype == (cr.float64 if dt is np.float64 else cr.float32)
        out[dt] = [y.array, q.grad.array, k.grad.array, v.grad.array]
    for a, b in zip(out[np.float64], out[np.float32]):
        np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("mask", [None, "attn", "padding"])
def test_multihead_attention_fast_path_equals_the_weights_path(mask: str | None) -> None:
    """need_weights=False takes the fused op; need_weights=True computes the weights with the
    unfused ops: the outputs and parameter gradients agree."""
    cr.manual_seed(0)
    mha = cr.nn.MultiheadAttention(8, 2, batch_first=True).double()
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 5, 8)), requires_grad=True)
    kwargs = {}
    if mask == "attn":
        kwargs["attn_mask"] = cr.tensor(np.triu(np.ones((5, 5), bool), 1))
    elif mask == "padding":
        kwargs["key_padding_mask"] = cr.tensor(np.array([[0, 0, 0, 1, 1]] * 3, bool))
    results = []
    for need in (False, True):
        mha.zero_grad()
        x.grad = None
        out = mha(x, x, x, need_weights=need, **kwargs)[0]
        (out * out).sum().backward()
        results.append([out.array, x.grad.array, mha.in_proj_weight.grad.array])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_attention_refuses_mismatched_shapes() -> None:
    q = cr.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"scaled_dot_product_attention: .*\(2, 6, 3\)"):
        F.scaled_dot_product_attention(q, cr.zeros(2, 5, 4), cr.zeros(2, 6, 3))


@pytest.mark.parametrize("dtype", [cr.bfloat16, cr.float16])
def test_low_precision_inputs_take_the_twins(dtype: object) -> None:
    """float16/bfloat16 (no einsum kernels) compute through the composites, in their dtype."""
    x32 = cr.tensor(np.random.default_rng(4).standard_normal((2, 3, 4, 8)).astype(np.float32))
    ref = F.gelu(F.layer_norm(F.scaled_dot_product_attention(x32, x32, x32, is_causal=True),
                              (8,)))
    x = x32.to(dtype).requires_grad_()
    y = F.gelu(F.layer_norm(F.scaled_dot_product_attention(x, x, x, is_causal=True), (8,)))
    y.float().sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    np.testing.assert_allclose(y.float().array, ref.array, atol=0.1)


def test_attention_under_autocast_runs_its_products_in_bfloat16() -> None:
    x = cr.randn(2, 3, 4, 8)
    with cr.autocast("cpu"):
        assert F.scaled_dot_product_attention(x, x, x).dtype == cr.bfloat16
