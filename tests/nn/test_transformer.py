"""Transformer layers, stacks, positional encodings and the norms they use: gradcheck,
causality, residual structure, state_dict keys."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.nn.modules.normalization import LayerNorm, RMSNorm
from chainrule.nn.modules.transformer import (
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
    generate_square_subsequent_mask,
)


def _t(arr: np.ndarray, grad: bool = True) -> cr.Tensor:
    return cr.tensor(arr, dtype=cr.float64, requires_grad=grad)


@pytest.mark.parametrize("norm_first,activation,batch_first", [
    (False, "relu", False), (True, "gelu", True)])
def test_encoder_layer_gradcheck(norm_first: bool, activation: str, batch_first: bool,
                                 rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                batch_first=batch_first, norm_first=norm_first).double()
    x = _t(rng.standard_normal((2, 3, 4) if batch_first else (3, 2, 4)))
    mask = generate_square_subsequent_mask(3, cr.float64)
    kpm = cr.tensor(np.array([[False, True, True], [False, False, False]]))  # (N, S)
    gradcheck(lambda *_: m(x, src_mask=mask, src_key_padding_mask=kpm),
              [x, *m.parameters()])


def test_decoder_layer_gradcheck(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    m = TransformerDecoderLayer(4, 2, 5, dropout=0.0, batch_first=True).double()
    tgt, mem = _t(rng.standard_normal((2, 3, 4))), _t(rng.standard_normal((2, 4, 4)))
    mask = generate_square_subsequent_mask(3, cr.float64)
    gradcheck(lambda *_: m(tgt, mem, tgt_mask=mask), [tgt, mem, *m.parameters()])


@pytest.mark.parametrize("norm", [LayerNorm, RMSNorm])
def test_norms_gradcheck(norm: type, rng: np.random.Generator) -> None:
    m = norm(5).double()
    with cr.no_grad():
        m.weight.normal_()
    x = _t(rng.standard_normal((3, 5)))
    gradcheck(lambda *_: m(x), [x, *m.parameters()])


def test_causal_encoder_does_not_look_ahead(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
                             2, norm=LayerNorm(8))
    x = cr.tensor(rng.standard_normal((1, 6, 8)).astype(np.float32), requires_grad=True)
    out = enc(x, mask=generate_square_subsequent_mask(6))
    (out[0, 2] * cr.tensor(rng.standard_normal(8).astype(np.float32))).sum().backward()
    g = np.abs(x.grad.array[0]).sum(-1)
    assert (g[3:] == 0).all() and (g[:3] > 0).all()


def test_encoder_stack_copies_are_independent() -> None:
    cr.manual_seed(0)
    layer = TransformerEncoderLayer(8, 2, 16)
    enc = TransformerEncoder(layer, 3)
    keys = list(enc.state_dict())
    assert len(keys) == 3 * len(layer.state_dict())
    assert "layers.2.self_attn.in_proj_weight" in keys and "layers.0.norm2.bias" in keys
    p0, p1 = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert p0 is not p1
    np.testing.assert_array_equal(p0.array, p1.array)  # deep copies start equal
    with cr.no_grad():
        p0.add_(1.0)
    assert not np.allclose(p0.array, p1.array)


def test_layer_state_dict_keys_follow_pytorch() -> None:
    enc = TransformerEncoderLayer(8, 2, 16)
    assert sorted(enc.state_dict()) == sorted([
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
        "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
        "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"])
    dec = TransformerDecoderLayer(8, 2, 16)
    assert "multihead_attn.in_proj_weight" in dec.state_dict()
    assert "norm3.weight" in dec.state_dict()


def test_post_norm_structure(rng: np.random.Generator) -> None:
    """With the attention and feed-forward outputs zeroed, a post-norm layer is
    LayerNorm(LayerNorm(x)) and a pre-norm layer is the identity."""
    x = cr.tensor(rng.standard_normal((3, 2, 8)).astype(np.float32))
    for norm_first in (False, True):
        m = TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=norm_first)
        with cr.no_grad():
            m.self_attn.out_proj.weight.zero_()
            m.linear2.weight.zero_()
            m.linear2.bias.zero_()
        out = m(x).array
        if norm_first:
            np.testing.assert_allclose(out, x.array, atol=1e-6)
        else:
            z = (x.array - x.array.mean(-1, keepdims=True)) / np.sqrt(
                x.array.var(-1, keepdims=True) + 1e-5)
            np.testing.assert_allclose(out, z, atol=1e-4)


def test_decoder_stack_and_dropout_modes(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    dec = TransformerDecoder(TransformerDecoderLayer(8, 2, 16, dropout=0.3), 2)
    tgt, mem = cr.randn(4, 2, 8), cr.randn(5, 2, 8)
    assert dec(tgt, mem).shape == (4, 2, 8)
    assert not np.allclose(dec(tgt, mem).array, dec(tgt, mem).array)
    dec.eval()
    np.testing.assert_array_equal(dec(tgt, mem).array, dec(tgt, mem).array)
    with pytest.raises(RuntimeError, match="activation"):
        TransformerEncoderLayer(8, 2, activation="swish")


def test_sinusoidal_positional_encoding(rng: np.random.Generator) -> None:
    pe = SinusoidalPositionalEncoding(6, max_len=50)
    assert list(pe.state_dict()) == []
    x = cr.zeros(7, 2, 6)
    out = pe(x).array
    pos, i = 5, 1
    np.testing.assert_allclose(out[pos, 0, 2 * i], np.sin(pos / 10000 ** (2 * i / 6)),
                               rtol=1e-6)
    np.testing.assert_allclose(out[pos, 1, 2 * i + 1], np.cos(pos / 10000 ** (2 * i / 6)),
                               rtol=1e-6)
    bf = SinusoidalPositionalEncoding(6, max_len=50, batch_first=True)
    np.testing.assert_allclose(bf(cr.zeros(2, 7, 6)).array[1], out[:, 0])
    assert SinusoidalPositionalEncoding(5, 10)(cr.zeros(3, 5)).shape == (3, 5)  # odd d_model
    with pytest.raises(ValueError, match="max_len"):
        pe(cr.zeros(51, 1, 6))


def test_learned_positional_encoding_gradcheck(rng: np.random.Generator) -> None:
    cr.manual_seed(0)
    pe = LearnedPositionalEncoding(5, 3, batch_first=True).double()
    assert list(pe.state_dict()) == ["weight"]
    x = _t(rng.standard_normal((2, 4, 3)))
    gradcheck(lambda *_: pe(x), [x, pe.weight])
    pe(x).sum().backward()
    np.testing.assert_allclose(pe.weight.grad.array[:4], 2.0)
    np.testing.assert_allclose(pe.weight.grad.array[4], 0.0)
