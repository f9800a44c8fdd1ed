"""scaled_dot_product_attention and MultiheadAttention: gradients with every mask type, mask
semantics, shapes, order invariance, init and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.nn.functional import scaled_dot_product_attention
from chainrule.nn.modules.activation import MultiheadAttention


def _t(arr: np.ndarray, grad: bool = True) -> cr.Tensor:
    return cr.tensor(arr, dtype=cr.float64, requires_grad=grad)


def _reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, add: np.ndarray | None,
               scale: float) -> np.ndarray:
    s = q @ np.swapaxes(k, -1, -2) * scale
    if add is not None:
        s = s + add
    w = np.exp(s - s.max(-1, keepdims=True))
    return (w / w.sum(-1, keepdims=True)) @ v


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
def test_sdpa_matches_numpy_and_gradcheck(mask: str | None, rng: np.random.Generator) -> None:
    q, k, v = (rng.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    kw: dict = {}
    add = None
    if mask == "bool":
        keep = rng.random((3, 5)) < 0.6
        keep[:, 0] = True
        kw["attn_mask"] = cr.tensor(keep)
        add = np.where(keep, 0.0, -np.inf)
    elif mask == "float":
        add = rng.standard_normal((3, 5))
        kw["attn_mask"] = cr.tensor(add)
    elif mask == "causal":
        kw["is_causal"] = True
        add = np.where(np.tril(np.ones((3, 5), bool)), 0.0, -np.inf)
    out = scaled_dot_product_attention(_t(q), _t(k), _t(v), **kw)
    np.testing.assert_allclose(out.array, _reference(q, k, v, add, 0.5), atol=1e-12)
    gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, **kw),
              [_t(q), _t(k), _t(v)])


def test_sdpa_scale_and_dropout(rng: np.random.Generator) -> None:
    q = rng.standard_normal((4, 6))
    out = scaled_dot_product_attention(_t(q), _t(q), _t(q), scale=0.1)
    np.testing.assert_allclose(out.array, _reference(q, q, q, None, 0.1), atol=1e-12)
    cr.manual_seed(0)
    a = scaled_dot_product_attention(_t(q), _t(q), _t(q), dropout_p=0.5).array
    b = scaled_dot_product_attention(_t(q), _t(q), _t(q), dropout_p=0.5).array
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="is_causal"):
        scaled_dot_product_attention(_t(q), _t(q), _t(q), attn_mask=cr.ones(4, 4),
                                     is_causal=True)


def _masks(kind: str, rng: np.random.Generator, N: int, h: int, L: int,
           S: int) -> dict[str, cr.Tensor]:
    if kind == "none":
        return {}
    if kind == "attn_bool":
        m = rng.random((L, S)) < 0.4
        m[:, 0] = False
        return {"attn_mask": cr.tensor(m)}
    if kind == "attn_float":
        return {"attn_mask": cr.tensor(rng.standard_normal((L, S)))}
    if kind == "attn_3d":
        return {"attn_mask": cr.tensor(rng.standard_normal((N * h, L, S)))}
    if kind == "kpm_bool":
        m = rng.random((N, S)) < 0.4
        m[:, 0] = False
        return {"key_padding_mask": cr.tensor(m)}
    if kind == "kpm_float":
        return {"key_padding_mask": cr.tensor(rng.standard_normal((N, S)))}
    assert kind == "both_bool"
    return {**_masks("attn_bool", rng, N, h, L, S), **_masks("kpm_bool", rng, N, h, L, S)}


MASKS = ["none", "attn_bool", "attn_float", "attn_3d", "kpm_bool", "kpm_float", "both_bool"]


@pytest.mark.parametrize("kind", MASKS)
def test_mha_gradcheck_each_mask(kind: str, rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    E, h, L, S, N = 4, 2, 3, 4, 2
    m = MultiheadAttention(E, h).double()
    q, k, v = (_t(rng.standard_normal(s)) for s in ((L, N, E), (S, N, E), (S, N, E)))
    masks = _masks(kind, rng, N, h, L, S)
    out, w = m(q, k, v, **masks)
    assert np.isfinite(out.array).all()
    gradcheck(lambda *_: m(q, k, v, **masks, average_attn_weights=False),
              [q, k, v, *m.parameters()])


def test_mha_self_attention_kdim_and_batch_first_gradcheck(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True).double()
    assert [n for n, _ in m.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight",
        "out_proj.bias"]
    q, k, v = (_t(rng.standard_normal(s)) for s in ((2, 3, 4), (2, 4, 3), (2, 4, 5)))
    gradcheck(lambda *_: m(q, k, v), [q, k, v, *m.parameters()])
    s = MultiheadAttention(4, 2, bias=False).double()
    x = _t(rng.standard_normal((3, 4)))  # unbatched self-attention
    gradcheck(lambda *_: s(x, x, x), [x, *s.parameters()])


def test_mha_mask_semantics(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    E, h, L, S, N = 8, 2, 3, 5, 2
    m = MultiheadAttention(E, h)
    q, k = cr.randn(L, N, E), cr.randn(S, N, E)
    kpm = np.zeros((N, S), bool)
    kpm[0, 3:] = True
    _, w = m(q, k, k, key_padding_mask=cr.tensor(kpm))
    assert w.shape == (N, L, S)
    np.testing.assert_allclose(w.array.sum(-1), 1.0, atol=1e-6)
    assert (w.array[0, :, 3:] == 0).all() and (w.array[1] > 0).all()
    causal = np.triu(np.ones((L, S), bool), 1)
    _, w = m(q, k, k, attn_mask=cr.tensor(causal), average_attn_weights=False)
    assert w.shape == (N, h, L, S)
    assert (w.array[..., causal] == 0).all()
    # a float mask of 0/−inf is the same as the bool mask
    fmask = cr.tensor(np.where(causal, -np.inf, 0.0).astype(np.float32))
    o1, _ = m(q, k, k, attn_mask=cr.tensor(causal))
    o2, _ = m(q, k, k, attn_mask=fmask)
    np.testing.assert_allclose(o1.array, o2.array, atol=1e-6)
    out, none = m(q, k, k, need_weights=False)
    assert none is None and out.shape == (L, N, E)


def test_mha_matches_manual_heads(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    E, h = 6, 3
    m = MultiheadAttention(E, h).double()
    x = rng.standard_normal((4, 1, E))
    out, _ = m(_t(x, False), _t(x, False), _t(x, False))
    W, b = m.in_proj_weight.array, m.in_proj_bias.array
    q, k, v = np.split(x[:, 0] @ W.T + b, 3, axis=-1)
    cols = [slice(2 * i, 2 * i + 2) for i in range(h)]
    heads = [_reference(q[:, c], k[:, c], v[:, c], None, 1 / math.sqrt(2)) for c in cols]
    ref = np.concatenate(heads, -1) @ m.out_proj.weight.array.T + m.out_proj.bias.array
    np.testing.assert_allclose(out.array[:, 0], ref, atol=1e-12)


@given(perm_seed=st.integers(0, 1000))
def test_mha_key_order_invariance(perm_seed: int) -> None:
    """Permuting keys and values together (with their padding mask) changes nothing."""
    rng = np.random.default_rng(perm_seed)
    cr.manual_seed(1)
    m = MultiheadAttention(4, 2).double()
    q, k = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2, 4))
    kpm = rng.random((2, 5)) < 0.3
    kpm[:, 0] = False
    p = rng.permutation(5)
    o1, w1 = m(_t(q, False), _t(k, False), _t(k, False), key_padding_mask=cr.tensor(kpm))
    o2, w2 = m(_t(q, False), _t(k[p], False), _t(k[p], False),
               key_padding_mask=cr.tensor(kpm[:, p]))
    np.testing.assert_allclose(o1.array, o2.array, atol=1e-12)
    np.testing.assert_allclose(w1.array[..., p], w2.array, atol=1e-12)


def test_mha_init_and_errors() -> None:
    cr.manual_seed(0)
    m = MultiheadAttention(64, 4)
    bound = math.sqrt(6 / (64 + 192))
    assert np.abs(m.in_proj_weight.array).max() <= bound
    assert (m.in_proj_bias.array == 0).all() and (m.out_proj.bias.array == 0).all()
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                    "out_proj.bias"]
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(10, 3)
    x = cr.randn(3, 2, 64)
    with pytest.raises(RuntimeError, match="is_causal"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=cr.zeros(2, 2))
    with pytest.raises(RuntimeError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=cr.zeros(3, 3).bool())


def test_mha_dropout_train_eval(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = MultiheadAttention(8, 2, dropout=0.5)
    x = cr.randn(4, 2, 8)
    assert not np.allclose(m(x, x, x)[0].array, m(x, x, x)[0].array)
    m.eval()
    np.testing.assert_array_equal(m(x, x, x)[0].array, m(x, x, x)[0].array)
