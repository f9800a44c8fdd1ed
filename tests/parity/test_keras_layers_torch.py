"""Parity with PyTorch: the Keras layers' maths, with identical weights moved from Keras's
layout (``layer.get_weights()``) into ``torch.nn.functional`` / ``torch.nn`` modules, give the
same outputs and input gradients (float32, a few ulps apart)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import layers

torch = pytest.importorskip("torch")
TF = torch.nn.functional
TOL = {"rtol": 1e-5, "atol": 1e-5}
RNG = np.random.default_rng(0)


def _x(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape).astype(np.float32)


def _t(a: np.ndarray, grad: bool = False):
    return torch.tensor(np.ascontiguousarray(a), requires_grad=grad)


def _randomise(layer, x) -> list[np.ndarray]:
    layer(x)
    layer.set_weights([RNG.normal(size=w.shape).astype(np.float32) * 0.5
                       for w in layer.get_weights()])
    return layer.get_weights()


def _compare(layer, x: np.ndarray, torch_fn, **call) -> None:
    """Outputs and the gradient of Σ out·g with respect to the input."""
    xc = cr.tensor(x, requires_grad=True)
    out = layer(xc, **call)
    g = RNG.normal(size=out.shape).astype(np.float32)
    (out * cr.from_numpy(g)).sum().backward()
    xt = _t(x, grad=True)
    want = torch_fn(xt)
    (want * _t(g)).sum().backward()
    np.testing.assert_allclose(out.array, want.detach().numpy(), **TOL)
    np.testing.assert_allclose(xc.grad.array, xt.grad.numpy(), **TOL)


def _nchw(fn):
    return lambda xt: fn(xt.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def test_conv2d_same_strided_equals_torch_with_tensorflow_padding():
    layer = layers.Conv2D(4, 3, strides=2, padding="same")
    k, b = _randomise(layer, x := _x(2, 7, 8, 3))
    # TF "same": total padding (⌈n/s⌉−1)·s + k − n: rows 2 → (1, 1), cols 1 → (0, 1)
    _compare(layer, x, _nchw(lambda t: TF.conv2d(TF.pad(t, (0, 1, 1, 1)),
                                                  _t(k.transpose(3, 2, 0, 1)), _t(b), 2)))


def test_conv1d_causal_equals_torch_left_padded():
    layer = layers.Conv1D(3, 3, padding="causal", dilation_rate=2)
    k, b = _randomise(layer, x := _x(2, 9, 4))
    _compare(layer, x, lambda t: TF.conv1d(TF.pad(t.permute(0, 2, 1), (4, 0)),
                                           _t(k.transpose(2, 1, 0)), _t(b),
                                           dilation=2).permute(0, 2, 1))


def test_depthwise_and_separable_convolutions_equal_torch_grouped_convolutions():
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    k, b = _randomise(dw, x := _x(2, 6, 6, 3))
    w = _t(k.transpose(2, 3, 0, 1).reshape(6, 1, 3, 3))
    _compare(dw, x, _nchw(lambda t: TF.conv2d(t, w, _t(b), padding=1, groups=3)))
    sep = layers.SeparableConv2D(5, 3, depth_multiplier=2)
    dk, pk, pb = _randomise(sep, x)
    dw_w, pw_w = _t(dk.transpose(2, 3, 0, 1).reshape(6, 1, 3, 3)), _t(pk.transpose(3, 2, 0, 1))
    _compare(sep, x, _nchw(lambda t: TF.conv2d(TF.conv2d(t, dw_w, groups=3), pw_w, _t(pb))))


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_transpose_equals_torch(padding):
    layer = layers.Conv2DTranspose(4, 3, strides=2, padding=padding)
    k, b = _randomise(layer, x := _x(2, 4, 5, 3))
    w = _t(k.transpose(3, 2, 0, 1))       # Keras (kh, kw, out, in) → torch (in, out, kh, kw)
    # TF's "same" keeps n·s of the full (n−1)·s + k outputs, dropping ⌊(k−s)/2⌋ = 0 at the
    # start; "valid" keeps them all
    rows, cols = (8, 10) if padding == "same" else (9, 11)
    _compare(layer, x, _nchw(lambda t: TF.conv_transpose2d(t, w, _t(b), 2)[:, :, :rows, :cols]))


def test_same_pooling_equals_torch_with_symmetric_padding():
    x = _x(2, 7, 7, 3)     # k=3, s=2: total padding 2 → one on each side
    _compare(layers.MaxPooling2D(3, strides=2, padding="same"), x,
             _nchw(lambda t: TF.max_pool2d(t, 3, 2, 1)))
    _compare(layers.AveragePooling2D(3, strides=2, padding="same"), x,
             _nchw(lambda t: TF.avg_pool2d(t, 3, 2, 1, count_include_pad=False)))


def test_normalisations_equal_torch():
    ln = layers.LayerNormalization()
    g, b = _randomise(ln, x := _x(2, 3, 6))
    _compare(ln, x, lambda t: TF.layer_norm(t, (6,), _t(g), _t(b), eps=1e-3))
    gn = layers.GroupNormalization(groups=2)
    g, b = _randomise(gn, x := _x(2, 4, 4, 6))
    _compare(gn, x, _nchw(lambda t: TF.group_norm(t, 2, _t(g), _t(b), eps=1e-3)))
    bn = layers.BatchNormalization()
    g, b, _, _ = _randomise(bn, x := _x(8, 3, 3, 4))
    bn.moving_mean.array[...] = 0
    mean = torch.zeros(4)
    _compare(bn, x, _nchw(lambda t: TF.batch_norm(t, mean, torch.ones(4), _t(g), _t(b),
                                                  training=True, momentum=0.01, eps=1e-3)),
             training=True)
    np.testing.assert_allclose(bn.moving_mean.array, mean.numpy(), **TOL)


def _gates(a: np.ndarray, order: list[int], units: int) -> np.ndarray:
    return np.concatenate([a[..., i * units:(i + 1) * units] for i in order], axis=-1)


def test_recurrent_layers_equal_torch_rnn_modules():
    u = 4
    x = _x(2, 5, 3)
    lstm = layers.LSTM(u, return_sequences=True)
    k, rk, b = _randomise(lstm, x)
    t_lstm = torch.nn.LSTM(3, u, batch_first=True)
    with torch.no_grad():
        t_lstm.weight_ih_l0.copy_(_t(k.T))
        t_lstm.weight_hh_l0.copy_(_t(rk.T))
        t_lstm.bias_ih_l0.copy_(_t(b))
        t_lstm.bias_hh_l0.zero_()
    _compare(lstm, x, lambda t: t_lstm(t)[0])

    gru = layers.GRU(u, return_sequences=True)
    k, rk, b = _randomise(gru, x)
    t_gru = torch.nn.GRU(3, u, batch_first=True)
    rz_h = [1, 0, 2]                      # Keras z, r, h → PyTorch r, z, n
    with torch.no_grad():
        t_gru.weight_ih_l0.copy_(_t(_gates(k, rz_h, u).T))
        t_gru.weight_hh_l0.copy_(_t(_gates(rk, rz_h, u).T))
        t_gru.bias_ih_l0.copy_(_t(_gates(b[0], rz_h, u)))
        t_gru.bias_hh_l0.copy_(_t(_gates(b[1], rz_h, u)))
    _compare(gru, x, lambda t: t_gru(t)[0])

    rnn = layers.SimpleRNN(u)
    k, rk, b = _randomise(rnn, x)
    t_rnn = torch.nn.RNN(3, u, batch_first=True)
    with torch.no_grad():
        t_rnn.weight_ih_l0.copy_(_t(k.T))
        t_rnn.weight_hh_l0.copy_(_t(rk.T))
        t_rnn.bias_ih_l0.copy_(_t(b))
        t_rnn.bias_hh_l0.zero_()
    _compare(rnn, x, lambda t: t_rnn(t)[1][0])


def test_multi_head_attention_equals_torch_multihead_attention():
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    q, v = _x(2, 5, 8), _x(2, 6, 8)
    mha(q, v)
    mha.set_weights([RNG.normal(size=w.shape).astype(np.float32) * 0.5
                     for w in mha.get_weights()])
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    t_mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        t_mha.in_proj_weight.copy_(_t(np.concatenate([w.reshape(8, 8).T for w in (wq, wk, wv)])))
        t_mha.in_proj_bias.copy_(_t(np.concatenate([bq.ravel(), bk.ravel(), bv.ravel()])))
        t_mha.out_proj.weight.copy_(_t(wo.reshape(8, 8).T))
        t_mha.out_proj.bias.copy_(_t(bo))
    mask = np.tril(np.ones((5, 6), bool))
    out, scores = mha(q, v, attention_mask=mask[None].repeat(2, 0),
                      return_attention_scores=True)
    want, w = t_mha(_t(q), _t(v), _t(v), attn_mask=_t(~mask), average_attn_weights=False)
    np.testing.assert_allclose(out.array, want.detach().numpy(), **TOL)
    np.testing.assert_allclose(scores.array, w.detach().numpy(), **TOL)


def test_resizing_and_bilinear_upsampling_equal_torch_interpolate():
    x = _x(2, 4, 5, 3)
    _compare(layers.Resizing(6, 7), x, _nchw(lambda t: TF.interpolate(
        t, size=(6, 7), mode="bilinear", align_corners=False)))
    _compare(layers.UpSampling2D((2, 3), interpolation="bilinear"), x, _nchw(
        lambda t: TF.interpolate(t, size=(8, 15), mode="bilinear", align_corners=False)))


def test_normalised_dot_is_torch_cosine_similarity():
    a, b = _x(3, 6), _x(3, 6)
    out = layers.Dot(axes=1, normalize=True)([a, b]).array
    want = TF.cosine_similarity(_t(a), _t(b), dim=1).numpy()[:, None]
    np.testing.assert_allclose(out, want, **TOL)
