"""Masks as Keras carries them: ``Embedding(mask_zero=True)`` and ``Masking`` make one, layers
that support masking pass it on, the recurrent layers skip masked steps, attention and
global average pooling leave masked positions out."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import Sequential, layers

TOKENS = np.array([[3, 5, 0, 0, 0], [1, 2, 4, 6, 0], [7, 8, 9, 1, 2]])
RECURRENT = ["SimpleRNN(3)", "LSTM(4)", "GRU(3)", "GRU(3, reset_after=False)",
             "LSTM(3, go_backwards=True)"]


def test_embedding_mask_zero_attaches_the_mask_and_dense_passes_it_on():
    emb = layers.Embedding(10, 4, mask_zero=True)
    out = emb(TOKENS)
    assert np.array_equal(layers.get_mask(out).array, TOKENS != 0)
    assert np.array_equal(layers.get_mask(layers.Dense(2)(out)).array, TOKENS != 0)
    assert layers.get_mask(layers.Embedding(10, 4)(TOKENS)) is None
    assert layers.get_mask(layers.Flatten()(out)) is None


@pytest.mark.parametrize("expr", RECURRENT)
def test_a_masked_sequence_gives_the_output_of_the_unpadded_one(expr):
    cr.manual_seed(0)
    emb, rnn = layers.Embedding(10, 4, mask_zero=True), eval(expr, vars(layers))
    padded = rnn(emb(TOKENS[:1])).array
    plain = rnn(emb.embedding(cr.as_tensor(TOKENS[:1, :2]))).array
    np.testing.assert_allclose(padded, plain, rtol=1e-6, atol=1e-6)


def test_return_sequences_repeats_the_last_real_output_at_masked_steps():
    emb, rnn = layers.Embedding(10, 4, mask_zero=True), layers.LSTM(3, return_sequences=True)
    out = rnn(emb(TOKENS)).array
    assert np.array_equal(out[0, 2], out[0, 1]) and np.array_equal(out[0, 4], out[0, 1])
    assert np.array_equal(layers.get_mask(rnn(emb(TOKENS))).array, TOKENS != 0)
    assert layers.get_mask(layers.LSTM(3)(emb(TOKENS))) is None


def test_bidirectional_outputs_zeros_at_masked_steps_and_masks_reach_it_in_a_sequential():
    model = Sequential([layers.Embedding(10, 4, mask_zero=True),
                        layers.Bidirectional(layers.GRU(3, return_sequences=True))])
    out = model(TOKENS).array
    assert out.shape == (3, 5, 6)
    assert np.all(out[0, 2:] == 0) and np.all(out[1, 4] == 0) and np.all(out[2] != 0)


def test_masking_layer_masks_steps_equal_to_mask_value():
    x = np.ones((2, 4, 3), np.float32)
    x[0, 1:] = 0.0
    out = layers.Masking(0.0)(x)
    assert np.array_equal(layers.get_mask(out).array, [[1, 0, 0, 0], [1, 1, 1, 1]])
    last = layers.SimpleRNN(2)
    np.testing.assert_allclose(last(out).array[0], last(x[:1, :1]).array[0], atol=1e-6)


def test_global_average_pooling_1d_averages_only_the_real_steps():
    emb = layers.Embedding(10, 4, mask_zero=True)
    e = emb(TOKENS)
    out = layers.GlobalAveragePooling1D()(e).array
    np.testing.assert_allclose(out[0], e.array[0, :2].mean(0), rtol=1e-6)
    np.testing.assert_allclose(out[2], e.array[2].mean(0), rtol=1e-6)


def test_attention_leaves_out_masked_keys_and_honours_causal_and_explicit_masks():
    cr.manual_seed(0)
    emb = layers.Embedding(10, 8, mask_zero=True)
    e = emb(TOKENS)
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    _, scores = mha(e, e, return_attention_scores=True)
    s = scores.array
    assert np.all(s[0, :, :2, 2:] < 1e-6) and np.allclose(s[0, :, :2].sum(-1), 1, atol=1e-6)
    x = cr.randn(1, 4, 8)
    _, causal = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(causal.array[0, 0], 1) < 1e-6)
    allowed = np.array([[[1, 0, 1, 0]] * 4], bool)
    _, explicit = mha(x, x, attention_mask=allowed, return_attention_scores=True)
    assert np.all(explicit.array[..., [1, 3]] < 1e-6)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


@pytest.mark.parametrize("expr", [*RECURRENT, "LSTM(4, return_sequences=True)",
                                  "GRU(3, return_sequences=True, go_backwards=True)",
                                  "Bidirectional(LSTM(3, return_sequences=True))",
                                  "Bidirectional(GRU(3), merge_mode='ave')",
                                  "LSTM(3, return_state=True)"])
def test_masked_recurrent_outputs_equal_keras(expr):
    keras = _keras()
    ours_e, ours_r = layers.Embedding(10, 4, mask_zero=True), eval(expr, vars(layers))
    th_e, th_r = keras.layers.Embedding(10, 4, mask_zero=True), eval(expr, vars(keras.layers))
    ours_r(ours_e(TOKENS))
    th_r(th_e(TOKENS))
    rng = np.random.default_rng(0)
    th_e.set_weights(ours_e.get_weights())
    ours_r.set_weights([rng.normal(size=w.shape).astype(np.float32)
                        for w in ours_r.get_weights()])
    th_r.set_weights(ours_r.get_weights())
    got, want = ours_r(ours_e(TOKENS)), th_r(th_e(TOKENS))
    got, want = (got, want) if isinstance(got, list) else ([got], [want])
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.array, keras.ops.convert_to_numpy(w), rtol=1e-5, atol=1e-6)


def test_masked_attention_equals_keras():
    keras = _keras()
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=3)
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    emb, th_emb = layers.Embedding(10, 6, mask_zero=True), keras.layers.Embedding(10, 6,
                                                                                 mask_zero=True)
    e = emb(TOKENS)
    th_emb(TOKENS)
    th_emb.set_weights(emb.get_weights())
    ours(e, e)
    theirs(th_emb(TOKENS), th_emb(TOKENS))
    theirs.set_weights(ours.get_weights())
    te = th_emb(TOKENS)        # Keras's attention clears the masks of the tensors it was given
    got, gs = ours(e, e, return_attention_scores=True, use_causal_mask=True)
    want, ws = theirs(te, te, return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_allclose(got.array, keras.ops.convert_to_numpy(want), atol=1e-5)
    np.testing.assert_allclose(gs.array, keras.ops.convert_to_numpy(ws), atol=1e-6)
