"""Layer contracts (Keras's ``run_layer_test``): every layer's output shape and parameter count
equal Keras 3's for the same constructor call, its config round-trips, and — where Keras is
installed — its outputs equal Keras's (PyTorch backend) with identical weights.

The expected shapes and counts below were read from Keras 3.15.1 (``KERAS_BACKEND=torch``) by
running each expression with ``keras.layers`` in place of ``chainrule.keras.layers``.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from chainrule import nn
from chainrule.keras import layers

CASES = [
    ('Dense(4)', (2, 3), (2, 4), 16),
    ('Conv1D(5, 3)', (2, 10, 4), (2, 8, 5), 65),
    ("Conv1D(5, 4, strides=2, padding='same')", (2, 9, 4), (2, 5, 5), 85),
    ("Conv1D(3, 3, padding='causal', dilation_rate=2)", (2, 9, 4), (2, 9, 3), 39),
    ("Conv2D(8, 3, padding='same')", (2, 6, 6, 3), (2, 6, 6, 8), 224),
    ("Conv2D(4, (2, 3), strides=2, padding='same')", (1, 7, 9, 2), (1, 4, 5, 4), 52),
    ('Conv2D(4, 3, groups=2)', (1, 6, 6, 4), (1, 4, 4, 4), 76),
    ('Conv1DTranspose(3, 3, strides=2)', (2, 5, 4), (2, 11, 3), 39),
    ("Conv1DTranspose(3, 4, strides=2, padding='same')", (2, 5, 4), (2, 10, 3), 51),
    ("Conv2DTranspose(6, 3, strides=2, padding='same')", (2, 4, 5, 3), (2, 8, 10, 6), 168),
    ('Conv2DTranspose(6, (3, 2), strides=(2, 3))', (2, 4, 5, 3), (2, 9, 15, 6), 114),
    ("Conv2DTranspose(2, 3, strides=2, padding='valid', output_padding=1)", (1, 4, 4, 3),
     (1, 10, 10, 2), 56),
    ("DepthwiseConv2D(3, depth_multiplier=2, padding='same')", (2, 6, 6, 3), (2, 6, 6, 6), 60),
    ('DepthwiseConv2D(3, strides=2)', (2, 7, 7, 3), (2, 3, 3, 3), 30),
    ('SeparableConv2D(5, 3, depth_multiplier=2)', (2, 6, 6, 3), (2, 4, 4, 5), 89),
    ("SeparableConv2D(5, 3, strides=2, padding='same')", (2, 7, 7, 3), (2, 4, 4, 5), 47),
    ('MaxPooling1D(2)', (2, 7, 3), (2, 3, 3), 0),
    ("MaxPooling1D(3, strides=2, padding='same')", (2, 8, 3), (2, 4, 3), 0),
    ("AveragePooling1D(2, padding='same')", (2, 7, 3), (2, 4, 3), 0),
    ('MaxPooling2D()', (2, 7, 7, 3), (2, 3, 3, 3), 0),
    ("MaxPooling2D(3, strides=2, padding='same')", (2, 7, 8, 3), (2, 4, 4, 3), 0),
    ("AveragePooling2D(2, padding='same')", (2, 5, 5, 3), (2, 3, 3, 3), 0),
    ('AveragePooling2D((2, 2), strides=1)', (2, 4, 4, 3), (2, 3, 3, 3), 0),
    ('GlobalAveragePooling1D()', (2, 5, 3), (2, 3), 0),
    ('GlobalMaxPooling1D()', (2, 5, 3), (2, 3), 0),
    ('GlobalAveragePooling2D()', (2, 4, 5, 3), (2, 3), 0),
    ('GlobalMaxPooling2D(keepdims=True)', (2, 4, 5, 3), (2, 1, 1, 3), 0),
    ('Add()', [(2, 3, 4), (2, 3, 4)], (2, 3, 4), 0),
    ('Subtract()', [(2, 3), (2, 3)], (2, 3), 0),
    ('Multiply()', [(2, 3), (2, 3), (2, 3)], (2, 3), 0),
    ('Average()', [(2, 3), (2, 3)], (2, 3), 0),
    ('Maximum()', [(2, 3), (2, 3)], (2, 3), 0),
    ('Minimum()', [(2, 3), (2, 3)], (2, 3), 0),
    ('Concatenate()', [(2, 3, 4), (2, 3, 2)], (2, 3, 6), 0),
    ('Concatenate(axis=1)', [(2, 3, 4), (2, 5, 4)], (2, 8, 4), 0),
    ('Dot(axes=1)', [(2, 4), (2, 4)], (2, 1), 0),
    ('Dot(axes=2)', [(2, 3, 4), (2, 5, 4)], (2, 3, 5), 0),
    ('Dot(axes=(1, 1), normalize=True)', [(2, 3, 4), (2, 3, 5)], (2, 4, 5), 0),
    ('LayerNormalization()', (2, 3, 6), (2, 3, 6), 12),
    ('LayerNormalization(axis=(1, 2))', (2, 3, 6), (2, 3, 6), 36),
    ('GroupNormalization(groups=2)', (2, 4, 4, 6), (2, 4, 4, 6), 12),
    ('BatchNormalization()', (4, 3, 3, 6), (4, 3, 3, 6), 24),
    ('BatchNormalization(axis=1, center=False)', (4, 5, 3), (4, 5, 3), 15),
    ('BatchNormalization(scale=False)', (4, 6), (4, 6), 18),
    ('MultiHeadAttention(num_heads=2, key_dim=4)', [(2, 5, 8), (2, 6, 8)], (2, 5, 8), 288),
    ('MultiHeadAttention(num_heads=3, key_dim=2, value_dim=5, output_shape=7)',
     [(2, 5, 8), (2, 6, 4)], (2, 5, 7), 271),
    ('SimpleRNN(6)', (2, 5, 3), (2, 6), 60),
    ('SimpleRNN(6, return_sequences=True)', (2, 5, 3), (2, 5, 6), 60),
    ('LSTM(8)', (2, 5, 3), (2, 8), 384),
    ('LSTM(8, return_sequences=True)', (2, 5, 3), (2, 5, 8), 384),
    ('GRU(5)', (2, 5, 3), (2, 5), 150),
    ('GRU(5, reset_after=False, return_sequences=True)', (2, 5, 3), (2, 5, 5), 135),
    ('Bidirectional(LSTM(4, return_sequences=True))', (2, 5, 3), (2, 5, 8), 256),
    ("Bidirectional(GRU(4), merge_mode='sum')", (2, 5, 3), (2, 4), 216),
    ('TimeDistributed(Dense(3))', (2, 5, 4), (2, 5, 3), 15),
    ('TimeDistributed(Conv2D(2, 3))', (2, 3, 6, 6, 1), (2, 3, 4, 4, 2), 20),
    ('Reshape((3, 4))', (2, 12), (2, 3, 4), 0),
    ('Reshape((-1, 2))', (2, 3, 4), (2, 6, 2), 0),
    ('Permute((2, 1))', (2, 3, 4), (2, 4, 3), 0),
    ('RepeatVector(3)', (2, 4), (2, 3, 4), 0),
    ('Flatten()', (2, 3, 4, 5), (2, 60), 0),
    ('ZeroPadding2D(((1, 2), (3, 0)))', (2, 4, 4, 3), (2, 7, 7, 3), 0),
    ('ZeroPadding2D(1)', (2, 4, 4, 3), (2, 6, 6, 3), 0),
    ('Cropping2D(((1, 0), (2, 1)))', (2, 5, 6, 3), (2, 4, 3, 3), 0),
    ('UpSampling2D()', (2, 3, 4, 3), (2, 6, 8, 3), 0),
    ("UpSampling2D((2, 3), interpolation='bilinear')", (2, 3, 4, 3), (2, 6, 12, 3), 0),
    ('Rescaling(1 / 255.0)', (2, 4, 4, 3), (2, 4, 4, 3), 0),
    ('Normalization()', (8, 3), (8, 3), 7),
    ('Resizing(6, 7)', (2, 4, 5, 3), (2, 6, 7, 3), 0),
    ("Resizing(3, 3, interpolation='nearest')", (2, 4, 5, 3), (2, 3, 3, 3), 0),
    ('CenterCrop(3, 2)', (2, 5, 6, 3), (2, 3, 2, 3), 0),
    ('RandomFlip()', (2, 5, 6, 3), (2, 5, 6, 3), 0),
    ('RandomRotation(0.1)', (2, 5, 6, 3), (2, 5, 6, 3), 0),
    ('RandomZoom(0.2)', (2, 5, 6, 3), (2, 5, 6, 3), 0),
    ('RandomTranslation(0.1, 0.2)', (2, 5, 6, 3), (2, 5, 6, 3), 0),
    ("Activation('relu')", (2, 3), (2, 3), 0),
    ('ReLU(max_value=1.0)', (2, 3), (2, 3), 0),
    ('LeakyReLU()', (2, 3), (2, 3), 0),
    ('PReLU()', (2, 3, 4), (2, 3, 4), 12),
    ('PReLU(shared_axes=[1])', (2, 3, 4), (2, 3, 4), 4),
    ('ELU(alpha=0.5)', (2, 3), (2, 3), 0),
    ('Softmax()', (2, 3), (2, 3), 0),
    ('Embedding(10, 4, mask_zero=True)', (2, 5), (2, 5, 4), 40),
    ('Dropout(0.5)', (2, 3), (2, 3), 0),
    ('Masking()', (2, 5, 3), (2, 5, 3), 0),
]
# 3-D convolutions wrap cr.nn.Conv3d / ConvTranspose3d (from the 3-D layers of issue #15).
CASES_3D = [
    ('Conv3D(4, 3)', (2, 5, 6, 7, 2), (2, 3, 4, 5, 4), 220),
    ("Conv3D(3, (2, 3, 2), strides=2, padding='same')", (2, 5, 6, 7, 2), (2, 3, 3, 4, 3), 75),
    ("Conv3D(4, 3, padding='same', dilation_rate=2, groups=2)", (1, 6, 6, 6, 4),
     (1, 6, 6, 6, 4), 220),
    ("Conv3DTranspose(3, 3, strides=2, padding='same')", (2, 3, 4, 5, 2), (2, 6, 8, 10, 3),
     165),
    ('Conv3DTranspose(2, (2, 3, 3), strides=(1, 2, 3))', (2, 3, 4, 5, 2), (2, 4, 9, 15, 2), 74),
]
NEEDS_3D = pytest.mark.skipif(not hasattr(nn, "Conv3d"),
                              reason="cr.nn.Conv3d is not in this tree yet (issue #15's layers)")
ALL_CASES = [*CASES, *(pytest.param(*c, marks=NEEDS_3D, id=c[0]) for c in CASES_3D)]


def make(expr: str, namespace: object = layers):
    return eval(expr, {k: getattr(namespace, k) for k in dir(namespace)})


def inputs(expr: str, shape, seed: int = 0):
    rng = np.random.default_rng(seed)
    if isinstance(shape, list):
        return [rng.random(s, dtype=np.float32) for s in shape]
    if expr.startswith("Embedding"):
        return rng.integers(0, 10, shape)
    return rng.random(shape, dtype=np.float32)


def call(layer, expr: str, x, **kwargs):
    if expr.startswith("MultiHeadAttention"):
        return layer(*x, **kwargs)
    return layer(x, **kwargs)


@pytest.mark.parametrize("expr,shape,expected,n_params", ALL_CASES)
def test_output_shape_and_parameter_count_match_keras(expr, shape, expected, n_params):
    layer = make(expr)
    out = call(layer, expr, inputs(expr, shape))
    assert tuple(out.shape) == expected
    assert layer.output_shape == (None, *expected[1:])
    assert layer.count_params() == n_params


@pytest.mark.parametrize("expr,shape,expected,n_params", ALL_CASES)
def test_config_round_trip_rebuilds_an_equal_layer(expr, shape, expected, n_params):
    layer = make(expr)
    layer.eval()
    x = inputs(expr, shape)
    out = call(layer, expr, x)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    clone.eval()
    assert clone.get_config() == config
    call(clone, expr, x)
    clone.set_weights(layer.get_weights())
    assert np.array_equal(call(clone, expr, x).array, out.array)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


@pytest.mark.parametrize("expr,shape,expected,n_params", ALL_CASES)
def test_outputs_equal_keras_with_identical_weights(expr, shape, expected, n_params):
    keras = _keras()
    ours, theirs = make(expr), make(expr, keras.layers)
    x = inputs(expr, shape)
    call(ours, expr, x)
    call(theirs, expr, x)
    rng = np.random.default_rng(1)
    ours.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(np.float32)
                      for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    ours.eval()
    got = call(ours, expr, x).array
    want = keras.ops.convert_to_numpy(call(theirs, expr, x, training=False))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert set(ours.get_config()) <= set(theirs.get_config())


@pytest.mark.parametrize("expr,shape,expected,n_params", ALL_CASES)
def test_configs_written_by_keras_build_the_same_layer(expr, shape, expected, n_params):
    keras = _keras()
    ours, theirs = make(expr), make(expr, keras.layers)
    x = inputs(expr, shape)
    call(ours, expr, x)
    call(theirs, expr, x)
    loaded = type(ours).from_config(theirs.get_config())
    assert loaded.name == theirs.name
    loaded.eval()
    ours.eval()
    call(loaded, expr, x)
    loaded.set_weights(ours.get_weights())
    assert loaded.count_params() == n_params
    np.testing.assert_array_equal(call(loaded, expr, x).array, call(ours, expr, x).array)


def test_keras_options_that_change_behaviour_are_refused():
    with pytest.raises(TypeError, match="kernel_constraint"):
        layers.Dense.from_config({"units": 2, "kernel_constraint": {"class_name": "NonNeg"}})
    with pytest.raises(TypeError, match="renorm"):
        layers.BatchNormalization.from_config({"renorm": True})
