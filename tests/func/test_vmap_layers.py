"""``vmap`` of the fused layer primitives, layer norm and scaled dot-product attention: their
batching rules give the per-sample loop's values and per-sample gradients without running the
loop (which warns), for batched inputs with shared parameters, batched parameters (an
ensemble), ``in_dims`` other than 0 and nested ``vmap``; for attention every combination of
batched and shared query, key, value and mask (boolean or additive) and ``is_causal``. Then
per-sample gradients of a small transformer block against the loop. Then convolutions and max
pooling, their backward ops (the weight gradient, max-pool's scatter and gather) included, and
a small ConvNet.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.func as F
import chainrule.nn.functional as NF
from chainrule.tensor import Tensor

B = 3


@contextmanager
def no_fallback() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    loops = [str(w.message) for w in caught if "runs once per sample" in str(w.message)]
    assert not loops, loops


def _sample(x: Any, d: int | None, i: int) -> Any:
    return x if d is None else cr.tensor(np.take(x.array, i, axis=d))


def _flat(out: Any) -> list[np.ndarray]:
    return [o.array for o in out] if isinstance(out, (tuple, list)) else [out.array]


def _check(f: Callable[..., Any], args: list[Tensor], in_dims: tuple[int | None, ...]) -> None:
    """``vmap(f)`` equals ``f`` sample by sample, and runs no op once per sample."""
    with no_fallback():
        got = _flat(F.vmap(f, in_dims=in_dims)(*args))
    size = next(a.shape[d] for a, d in zip(args, in_dims) if d is not None)
    loop = [_flat(f(*[_sample(a, d, i) for a, d in zip(args, in_dims)])) for i in range(size)]
    assert len(got) == len(loop[0])
    for k, g in enumerate(got):
        want = np.stack([sample[k] for sample in loop])
        assert g.shape == want.shape
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)
        assert np.abs(want).sum() > 0


def _n(rng: np.random.Generator, *shape: int) -> Tensor:
    return cr.tensor(rng.standard_normal(shape))


def _batched(rng: np.random.Generator, shape: tuple[int, ...], d: int | None) -> Tensor:
    """A tensor of one sample's ``shape``, or of ``B`` samples stacked at dim ``d``."""
    if d is None:
        return _n(rng, *shape)
    return cr.tensor(np.moveaxis(rng.standard_normal((B, *shape)), 0, d))


# ---- layer norm ------------------------------------------------------------------------------
LN_CASES = {  # name: (x's sample shape, normalized shape, in_dims of (x, weight, bias))
    "x": ((4, 6), (6,), (0, None, None)),
    "ensemble": ((4, 6), (6,), (None, 0, 0)),
    "all": ((4, 6), (6,), (0, 0, 0)),
    "weight-only": ((4, 6), (6,), (0, 0, None)),
    "bias-only-shared-x": ((4, 6), (6,), (None, None, 0)),
    "in-dim-1": ((4, 6), (6,), (1, None, None)),
    "in-dims-last": ((4, 6), (6,), (2, 1, None)),
    "two-dims": ((4, 2, 3), (2, 3), (0, 0, None)),
    "two-dims-no-leading": ((2, 3), (2, 3), (1, None, 0)),
    "no-affine": ((4, 6), (6,), (0,)),
}


def _ln_args(name: str) -> tuple[list[Tensor], tuple[int | None, ...], tuple[int, ...]]:
    shape, normalized, in_dims = LN_CASES[name]
    rng = np.random.default_rng(0)
    shapes = (shape, normalized, normalized)[:len(in_dims)]
    return [_batched(rng, s, d) for s, d in zip(shapes, in_dims)], in_dims, normalized


def _ln_loss(normalized: tuple[int, ...], c: Tensor) -> Callable[..., Tensor]:
    def loss(x: Tensor, w: Tensor | None = None, b: Tensor | None = None) -> Tensor:
        return (NF.layer_norm(x, normalized, w, b) * c).sum()

    return loss


@pytest.mark.parametrize("name", sorted(LN_CASES))
def test_layer_norm_values_and_per_sample_gradients_equal_the_loop(name: str) -> None:
    args, in_dims, normalized = _ln_args(name)
    _check(lambda *a: NF.layer_norm(a[0], normalized, *a[1:]), args, in_dims)
    c = cr.tensor(np.random.default_rng(1).standard_normal(LN_CASES[name][0]))
    loss = _ln_loss(normalized, c)
    _check(F.grad(loss, argnums=tuple(range(len(args)))), args, in_dims)


def test_nested_vmap_of_layer_norm_over_an_ensemble_and_a_batch_equals_the_loops() -> None:
    rng = np.random.default_rng(0)
    x, w, b = _n(rng, 5, 4, 6), _n(rng, B, 6), _n(rng, B, 6)
    c = _n(rng, 4, 6)
    loss = _ln_loss((6,), c)
    per_input = F.vmap(F.grad(loss, argnums=(0, 1, 2)), in_dims=(0, None, None))
    with no_fallback():
        got = F.vmap(per_input, in_dims=(None, 0, 0))(x, w, b)
    for e in range(B):
        for i in range(5):
            want = F.grad(loss, argnums=(0, 1, 2))(x[i], w[e], b[e])
            for g, r in zip(got, want):
                np.testing.assert_allclose(g[e, i].array, r.array, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", [F.jacrev, F.jacfwd])
def test_vmap_of_jacobians_through_layer_norm_equals_the_loop(transform: Any) -> None:
    rng = np.random.default_rng(0)
    x, w, b = _n(rng, B, 2, 5), _n(rng, 5), _n(rng, 5)
    _check(transform(lambda a, w, b: NF.layer_norm(a, (5,), w, b), argnums=(0, 1)),
           [x, w, b], (0, None, None))


# ---- attention -------------------------------------------------------------------------------
L, S, E, EV = 3, 5, 4, 2


def _mask(rng: np.random.Generator, kind: str, d: int | None) -> Tensor | None:
    if kind in ("none", "causal"):
        return None
    if kind == "float":
        return _batched(rng, (L, S), d)
    draws = rng.random((L, S) if d is None else (B, L, S)) < 0.5
    return cr.tensor(draws | np.eye(L, S, dtype=bool))  # every query sees a key


def _attention_cases() -> list[Any]:
    cases = []
    for mask in ("none", "causal", "bool", "float"):
        for batched in itertools.product((0, None), repeat=3 + (mask in ("bool", "float"))):
            if any(d is not None for d in batched):
                cases.append(pytest.param(mask, batched, id=mask + "-" + "".join(
                    "qkvm"[i] if d is not None else "_" for i, d in enumerate(batched))))
    return cases


@pytest.mark.parametrize("mask,in_dims", _attention_cases())
def test_attention_values_and_per_sample_gradients_equal_the_loop(
        mask: str, in_dims: tuple[int | None, ...]) -> None:
    rng = np.random.default_rng(0)
    args = [_batched(rng, s, d) for s, d in zip(((L, E), (S, E), (S, EV)), in_dims)]
    m = _mask(rng, mask, in_dims[3] if len(in_dims) == 4 else None)
    if m is not None:
        args.append(m)
    causal = mask == "causal"
    c = _n(rng, L, EV)

    def f(q: Tensor, k: Tensor, v: Tensor, m: Tensor | None = None) -> Tensor:
        return NF.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal)

    _check(f, args, in_dims)
    wrt = (0, 1, 2, 3) if mask == "float" else (0, 1, 2)
    _check(F.grad(lambda *a: (f(*a) * c).sum(), argnums=wrt), args, in_dims)


def test_attention_with_leading_dims_of_different_ranks_broadcasts_per_sample() -> None:
    rng = np.random.default_rng(0)
    in_dims = (None, 0, 2, 0)  # per sample: q (2, L, E), k (S, E), v (1, S, Ev), mask (S,)
    args = [_batched(rng, s, d) for s, d in zip(((2, L, E), (S, E), (1, S, EV), (S,)), in_dims)]
    c = _n(rng, 2, L, EV)

    def f(q: Tensor, k: Tensor, v: Tensor, m: Tensor) -> Tensor:
        return NF.scaled_dot_product_attention(q, k, v, attn_mask=m)

    _check(f, args, in_dims)
    _check(F.grad(lambda *a: (f(*a) * c).sum(), argnums=(0, 1, 2, 3)), args, in_dims)


def test_nested_vmap_of_attention_over_heads_and_samples_equals_the_loops() -> None:
    rng = np.random.default_rng(0)
    q, k, v = _n(rng, B, 2, L, E), _n(rng, B, S, E), _n(rng, 2, S, EV)

    def f(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return NF.scaled_dot_product_attention(q, k, v, is_causal=True).sin().sum()

    inner = F.vmap(F.grad(f, argnums=(0, 1, 2)), in_dims=(0, None, 0))
    with no_fallback():
        got = F.vmap(inner, in_dims=(0, 0, None))(q, k, v)
    for i in range(B):
        for h in range(2):
            want = F.grad(f, argnums=(0, 1, 2))(q[i, h], k[i], v[h])
            for g, r in zip(got, want):
                np.testing.assert_allclose(g[i, h].array, r.array, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", [F.jacrev, F.jacfwd])
def test_vmap_of_jacobians_through_attention_equals_the_loop(transform: Any) -> None:
    rng = np.random.default_rng(0)
    q, k, v, m = _n(rng, B, L, E), _n(rng, S, E), _n(rng, B, S, EV), _n(rng, L, S)
    _check(transform(lambda q, k, v, m: NF.scaled_dot_product_attention(q, k, v, attn_mask=m),
                     argnums=(0, 1, 3)), [q, k, v, m], (0, None, 0, None))


def test_attention_with_dropout_equals_the_loop_drawing_the_same_mask() -> None:
    rng = np.random.default_rng(0)
    q, k, v = _n(rng, B, L, E), _n(rng, S, E), _n(rng, B, S, EV)

    def f(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return NF.scaled_dot_product_attention(q, k, v, dropout_p=0.4, is_causal=True).sum()

    g = F.grad(f, argnums=(0, 1, 2))
    cr.manual_seed(0)
    with no_fallback():  # randomness="same": one mask of one sample's shape for the batch
        got = F.vmap(g, in_dims=(0, None, 0), randomness="same")(q, k, v)
    for i in range(B):
        cr.manual_seed(0)
        for a, w in zip(got, g(q[i], k, v[i])):
            np.testing.assert_allclose(a[i].array, w.array, rtol=1e-10, atol=1e-12)


# ---- a transformer block ---------------------------------------------------------------------
class Block(cr.nn.Module):
    """Pre-norm self-attention with a causal mask, a residual and a linear head."""

    def __init__(self, mha: bool) -> None:
        super().__init__()
        self.mha = mha
        self.norm1, self.norm2 = cr.nn.LayerNorm(8), cr.nn.LayerNorm(8)
        if mha:
            self.attn = cr.nn.MultiheadAttention(8, 2, batch_first=True)
        else:
            self.proj = cr.nn.Linear(8, 8)
        self.head = cr.nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:  # x (T, 8), one sequence
        h = self.norm1(x)
        if self.mha:  # nn.MultiheadAttention, its fused path (need_weights=False)
            blocked = cr.tensor(~np.tri(x.shape[0], dtype=bool))
            a = self.attn(h, h, h, attn_mask=blocked, need_weights=False)[0]
        else:  # the functional attention on a projection's heads
            qkv = self.proj(h).reshape(x.shape[0], 2, 4).transpose(0, 1)
            a = NF.scaled_dot_product_attention(qkv, qkv, qkv, is_causal=True)
            a = a.transpose(0, 1).reshape(x.shape[0], 8)
        return self.head(self.norm2(x + a))


@pytest.mark.parametrize("mha", [True, False], ids=["mha", "sdpa"])
def test_per_sample_gradients_of_a_transformer_block_equal_the_loop(mha: bool) -> None:
    cr.manual_seed(0)
    net = Block(mha).double()
    params = {k: v.detach() for k, v in net.named_parameters()}
    rng = np.random.default_rng(0)
    xs, ys = _n(rng, 4, 5, 8), cr.tensor(rng.integers(0, 3, (4, 5)))

    def loss(p: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        return NF.cross_entropy(F.functional_call(net, p, (x,)), y)

    _per_sample_grads_equal_the_loop(loss, params, xs, ys)


def _per_sample_grads_equal_the_loop(loss: Any, params: dict[str, Tensor], xs: Tensor,
                                     ys: Tensor) -> None:
    """``vmap(grad(loss))`` over the samples, with no per-sample fallback, equals the loop (and
    no gradient is trivially zero)."""
    with no_fallback():
        per = F.vmap(F.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
    for i in range(xs.shape[0]):
        ref = F.grad(loss)(params, xs[i], ys[i])
        for k in params:
            np.testing.assert_allclose(per[k][i].array, ref[k].array, rtol=1e-10, atol=1e-12)
            assert np.abs(ref[k].array).sum() > 0, k


def test_a_transformer_block_vmapped_over_an_ensemble_of_parameters_equals_the_loop() -> None:
    cr.manual_seed(0)
    nets = [Block(True).double() for _ in range(B)]
    stacked = {k: cr.stack([dict(n.named_parameters())[k].detach() for n in nets])
               for k, _ in nets[0].named_parameters()}
    x = _n(np.random.default_rng(0), 5, 8)

    def f(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return F.functional_call(nets[0], p, (x,))

    with no_fallback():
        got = F.vmap(f, in_dims=(0, None))(stacked, x)
    for e, net in enumerate(nets):
        np.testing.assert_allclose(got[e].array, net(x).array, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("transform", [F.jacrev, F.jacfwd])
@pytest.mark.parametrize("mha", [True, False], ids=["mha", "sdpa"])
def test_vmap_of_jacobians_of_a_transformer_block_equals_the_loop(mha: bool,
                                                                   transform: Any) -> None:
    cr.manual_seed(0)
    net = Block(mha).double()
    xs = _n(np.random.default_rng(0), B, 4, 8)
    _check(transform(net), [xs], (0,))


# ---- convolution and max pooling -------------------------------------------------------------
CONV_CASES = {  # name: (the convolution, x's sample shape, w's shape, in_dims of (x, w))
    "x": (NF.conv2d, (2, 2, 6, 6), (4, 2, 3, 3), (0, None)),
    "x-and-w": (NF.conv2d, (2, 2, 6, 6), (4, 2, 3, 3), (0, 0)),
    "w": (NF.conv2d, (2, 2, 6, 6), (4, 2, 3, 3), (None, 0)),
    "groups-2": (lambda x, w: NF.conv2d(x, w, groups=2), (2, 4, 6, 6), (4, 2, 3, 3), (0, 0)),
    "groups-2-shared-w": (lambda x, w: NF.conv2d(x, w, groups=2), (2, 4, 6, 6), (6, 2, 3, 3),
                          (0, None)),
    "stride-padding-dilation": (lambda x, w: NF.conv2d(x, w, stride=2, padding=1, dilation=2),
                                (2, 2, 7, 7), (4, 2, 3, 3), (0, 0)),
    "conv1d": (lambda x, w: NF.conv1d(x, w, stride=2, padding=1, groups=2), (2, 4, 9),
               (4, 2, 3), (0, 0)),
    "conv3d": (lambda x, w: NF.conv3d(x, w, padding=1, groups=2), (1, 4, 3, 4, 3),
               (4, 2, 2, 2, 2), (0, None)),
}


@pytest.mark.parametrize("name", sorted(CONV_CASES))
def test_convolution_values_per_sample_gradients_and_jacobians_equal_the_loop(name: str) -> None:
    conv, x_shape, w_shape, in_dims = CONV_CASES[name]
    rng = np.random.default_rng(0)
    args = [_batched(rng, x_shape, in_dims[0]), _batched(rng, w_shape, in_dims[1])]
    _check(conv, args, in_dims)
    c = _n(rng, *conv(_n(rng, *x_shape), _n(rng, *w_shape)).shape)
    _check(F.grad(lambda x, w: (conv(x, w) * c).sum(), argnums=(0, 1)), args, in_dims)
    _check(F.jacrev(conv, argnums=(0, 1)), args, in_dims)


WEIGHT_CASES = {  # name: (x's shape, g's shape, params of conv2d_weight)
    "plain": ((2, 2, 5, 5), (2, 3, 3, 3), {}),
    "groups-2": ((2, 4, 5, 5), (2, 6, 3, 3), {"groups": 2}),
    "stride-padding-dilation": ((2, 2, 8, 8), (2, 3, 4, 4),
                                {"stride": (2, 2), "pads": ((1, 2), (2, 1)), "dilation": (2, 2)}),
}


@pytest.mark.parametrize("in_dims", [(0, 0), (0, None), (None, 0)], ids=str)
@pytest.mark.parametrize("name", sorted(WEIGHT_CASES))
def test_the_convolution_weight_gradient_op_batches_either_or_both_inputs(
        name: str, in_dims: tuple[int | None, ...]) -> None:
    x_shape, g_shape, params = WEIGHT_CASES[name]
    geom = {"stride": (1, 1), "pads": ((0, 0), (0, 0)), "dilation": (1, 1), "groups": 1,
            "kernel": (3, 3), **params}
    rng = np.random.default_rng(0)
    op = cr.autograd.function.OPS["conv2d_weight"]
    _check(lambda x, g: op.apply(x, g, **geom),
           [_batched(rng, x_shape, in_dims[0]), _batched(rng, g_shape, in_dims[1])], in_dims)


POOLS = {"kernel-2": lambda x: NF.max_pool2d(x, 2),
         "kernel-3-stride-2-padding-1": lambda x: NF.max_pool2d(x, 3, 2, 1)}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_max_pool_values_per_sample_gradients_and_jacobians_equal_the_loop(name: str) -> None:
    pool = POOLS[name]
    rng = np.random.default_rng(0)
    x = _n(rng, B, 2, 2, 6, 6)
    c = _n(rng, *pool(x[0]).shape)
    _check(pool, [x], (0,))
    _check(F.grad(lambda x: (pool(x) * c).sum()), [x], (0,))
    _check(F.jacrev(pool), [x], (0,))


@pytest.mark.parametrize("name", sorted(POOLS))
def test_forward_jacobian_and_hessian_through_max_pool_equal_the_loop_over_the_basis(
        name: str) -> None:
    """``jacfwd`` and ``hessian`` batch the tangents (``max_pool_gather``, and under
    ``jacrev`` ``max_pool_scatter``), against one ``jvp`` per basis vector."""
    pool = POOLS[name]
    x = _n(np.random.default_rng(0), 1, 2, 5, 5)

    def energy(x: Tensor) -> Tensor:
        return (pool(x) ** 2).sum()

    basis = np.eye(x.numel()).reshape(-1, *x.shape)
    for transform, f in [(F.jacfwd, pool), (F.hessian, energy)]:
        with no_fallback():
            got = transform(f)(x).array
        tangent = f if transform is F.jacfwd else F.grad(energy)
        want = np.stack([F.jvp(tangent, (x,), (cr.tensor(e),))[1].array for e in basis], -1)
        np.testing.assert_allclose(got, want.reshape(got.shape), rtol=1e-10, atol=1e-12)
        assert np.abs(want).sum() > 0


def _convnet() -> cr.nn.Module:
    """The lecture worksheet's ConvNet (without dropout), for 1x28x28 images."""
    cr.manual_seed(0)
    return cr.nn.Sequential(
        cr.nn.Conv2d(1, 16, 3), cr.nn.ReLU(), cr.nn.Conv2d(16, 32, 3), cr.nn.ReLU(),
        cr.nn.MaxPool2d(2), cr.nn.Flatten(), cr.nn.Linear(4608, 128), cr.nn.ReLU(),
        cr.nn.Linear(128, 10)).double()


def test_per_sample_gradients_of_the_worksheet_convnet_equal_the_loop() -> None:
    net = _convnet()
    params = {k: v.detach() for k, v in net.named_parameters()}
    rng = np.random.default_rng(0)
    xs, ys = _n(rng, 4, 1, 28, 28), cr.tensor(rng.integers(0, 10, 4))

    def loss(p: dict[str, Tensor], x: Tensor, y: Tensor) -> Tensor:
        out = F.functional_call(net, p, (x.unsqueeze(0),))
        return NF.cross_entropy(out, y.unsqueeze(0))

    _per_sample_grads_equal_the_loop(loss, params, xs, ys)


def test_per_sample_input_jacobians_of_the_worksheet_convnet_equal_the_loop() -> None:
    net = _convnet()
    xs = _n(np.random.default_rng(0), 2, 1, 28, 28)
    _check(F.jacrev(lambda x: net(x.unsqueeze(0)).squeeze(0)), [xs], (0,))


def test_the_fallback_warning_says_when_a_rule_declined(monkeypatch: Any) -> None:
    monkeypatch.setattr(cr.autograd.function.OPS["exp"], "batch_rule",
                        staticmethod(lambda *args: None))
    with pytest.warns(UserWarning, match="exp runs once per sample because its batching rule "
                                         "declined this case"):
        got = F.vmap(cr.exp)(cr.arange(3.0))
    np.testing.assert_allclose(got.array, np.exp(np.arange(3.0)))
