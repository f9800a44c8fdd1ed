"""Training-time behaviour of the Keras layers: augmentation and dropout only while training,
batch statistics and their moving averages, and gradients equal to Keras-on-PyTorch's."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tests.keras.test_layer_contracts import CASES, CASES_3D, NEEDS_3D, call, inputs, make

import chainrule as cr
from chainrule.keras import layers

IMAGES = np.random.default_rng(0).random((2, 7, 9, 3)).astype(np.float32)
AUGMENTATIONS = [
    "RandomFlip()", "RandomRotation(0.2)", "RandomZoom(0.3, 0.2)", "RandomTranslation(0.2, 0.3)",
]
FIXED = [   # a degenerate factor range makes the transform deterministic
    "RandomRotation((0.25, 0.25), fill_mode='constant')",
    "RandomRotation((0.1, 0.1))",
    "RandomRotation((-0.1, -0.1), fill_mode='nearest', interpolation='nearest')",
    "RandomZoom((0.3, 0.3))",
    "RandomZoom((-0.3, -0.3), (0.2, 0.2), fill_mode='wrap')",
    "RandomTranslation((0.2, 0.2), (-0.1, -0.1), fill_mode='constant', fill_value=0.5)",
    "RandomTranslation((0.15, 0.15), (0.3, 0.3))",
]


@pytest.mark.parametrize("expr", AUGMENTATIONS)
def test_augmentation_is_the_identity_in_inference_and_random_in_training(expr):
    layer = make(expr)
    assert np.array_equal(layer(IMAGES, training=False).array, IMAGES)
    layer.eval()
    assert np.array_equal(layer(IMAGES).array, IMAGES)
    cr.manual_seed(0)
    a = layer(IMAGES, training=True).array
    b = layer(IMAGES, training=True).array
    assert not np.array_equal(a, b) and a.shape == IMAGES.shape
    assert layer(IMAGES[0], training=True).shape == IMAGES[0].shape


def test_random_flip_flips_whole_images():
    out = layers.RandomFlip("horizontal", seed=3)(np.repeat(IMAGES[:1], 16, 0), training=True)
    for img in out.array:
        assert np.array_equal(img, IMAGES[0]) or np.array_equal(img, IMAGES[0, :, ::-1])


def test_zero_factors_leave_images_unchanged_and_integer_shifts_move_pixels():
    for layer in (layers.RandomRotation(0.0), layers.RandomZoom(0.0),
                  layers.RandomTranslation(0.0, 0.0)):
        np.testing.assert_allclose(layer(IMAGES, training=True).array, IMAGES, atol=1e-6)
    shift = layers.RandomTranslation((2 / 7, 2 / 7), (0.0, 0.0), fill_mode="constant")
    out = shift(IMAGES, training=True).array
    np.testing.assert_allclose(out[:, 2:], IMAGES[:, :-2], atol=1e-5)
    assert np.all(out[:, :2] == 0)


def test_dropout_is_active_only_while_training():
    d = layers.Dropout(0.5)
    x = np.ones((10, 100), np.float32)
    y = d(x, training=True).array
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    shared = layers.Dropout(0.5, noise_shape=(None, 1))(x, training=True).array
    assert all(len(set(row)) == 1 for row in shared)
    assert np.array_equal(d(x).array, x)  # outside fit a Keras layer runs in inference mode
    assert np.array_equal(d(x, training=False).array, x)
    seeded = [layers.Dropout(0.5, seed=7)(x, training=True).array for _ in range(2)]
    assert np.array_equal(*seeded)


def test_layer_errors_quote_the_received_value():
    with pytest.raises(ValueError, match="Received: padding='full'"):
        layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="units=0"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="rate=1.5"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="merge_mode|Merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="at least 2 inputs"):
        layers.Add()(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.Conv2D(2, 3)(np.ones((2, 5, 5), np.float32))
    with pytest.raises(ValueError, match="multiple of the number of channels"):
        layers.GroupNormalization(groups=4)(np.ones((2, 6), np.float32))


def test_normalization_adapt_standardises_like_numpy():
    data = np.random.default_rng(0).normal(3, 2, (200, 4)).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    np.testing.assert_allclose(norm.mean.array.ravel(), data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.variance.array.ravel(), data.var(0), rtol=1e-4)
    out = norm(data).array
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(layers.Normalization(invert=True, mean=norm.mean.array.ravel(),
                                                    variance=norm.variance.array.ravel())(out)
                               .data, data, rtol=1e-5, atol=1e-5)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


@pytest.mark.parametrize("expr", FIXED)
def test_deterministic_augmentations_equal_keras(expr):
    keras = _keras()
    want = keras.ops.convert_to_numpy(make(expr, keras.layers)(IMAGES, training=True))
    np.testing.assert_allclose(make(expr)(IMAGES, training=True).array, want, atol=1e-5)


@pytest.mark.parametrize("expr,shape", [
    ("BatchNormalization()", (8, 3, 3, 4)),
    ("BatchNormalization(axis=1, momentum=0.9)", (8, 5, 3)),
    ("BatchNormalization(center=False, epsilon=0.01)", (8, 4)),
])
def test_batch_normalization_training_step_equals_keras(expr, shape):
    keras = _keras()
    x = np.random.default_rng(0).normal(2, 3, shape).astype(np.float32)
    ours, theirs = make(expr), make(expr, keras.layers)
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    got = ours(x, training=True).array
    want = keras.ops.convert_to_numpy(theirs(x, training=True))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for g, w in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


GRADIENT_CASES = [
    *(c for c in CASES if not c[0].startswith(
        ("Random", "Embedding", "Dropout", "Normalization", "Resizing(3, 3, interpolation='n"))),
    *(pytest.param(*c, marks=NEEDS_3D, id=c[0]) for c in CASES_3D),
]


@pytest.mark.parametrize("expr,shape,expected,n_params", GRADIENT_CASES)
def test_gradients_equal_keras_on_pytorch(expr, shape, expected, n_params):
    keras = _keras()
    import torch

    x = inputs(expr, shape)
    ours, theirs = make(expr), make(expr, keras.layers)
    call(ours, expr, x)
    call(theirs, expr, x)
    rng = np.random.default_rng(1)
    ours.set_weights([rng.uniform(0.1, 1.0, w.shape).astype(np.float32)
                      for w in ours.get_weights()])
    theirs.set_weights(ours.get_weights())
    ours.eval()
    g = rng.normal(size=expected).astype(np.float32)

    xs = [cr.tensor(a, requires_grad=True) for a in (x if isinstance(x, list) else [x])]
    out = call(ours, expr, xs if isinstance(x, list) else xs[0])
    (out * cr.from_numpy(g)).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x if isinstance(x, list) else [x])]
    t_out = call(theirs, expr, ts if isinstance(x, list) else ts[0], training=False)
    (t_out * torch.from_numpy(g)).sum().backward()

    for a, b in zip(xs, ts, strict=True):
        np.testing.assert_allclose(a.grad.array, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    ours_grads = [to_keras(t.grad.array) for t, to_keras, _ in ours._keras_weights()
                  if t.requires_grad]
    their_grads = [v.value.grad.numpy() for v in theirs.weights if v.trainable]
    for a, b in zip(ours_grads, their_grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make_layer,args", [
    (lambda: layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5), [(2, 5, 3)]),
    (lambda: layers.GRU(4, recurrent_dropout=0.5, return_sequences=True), [(2, 5, 3)]),
    (lambda: layers.MultiHeadAttention(2, 4, dropout=0.5), [(2, 5, 8), (2, 6, 8)]),
])
def test_dropout_inside_recurrent_and_attention_layers_only_while_training(make_layer, args):
    layer = make_layer()
    xs = [np.random.default_rng(i).random(s, dtype=np.float32) for i, s in enumerate(args)]
    cr.manual_seed(0)
    inference = layer(*xs, training=False).array
    assert np.array_equal(layer(*xs, training=False).array, inference)
    first, second = layer(*xs, training=True).array, layer(*xs, training=True).array
    assert not np.allclose(first, inference) and not np.allclose(first, second)


@pytest.mark.parametrize("expr", [*AUGMENTATIONS, "Dropout(0.5)"])
def test_compiled_steps_draw_fresh_augmentations_equal_to_eager_ones(expr):
    layer = make(expr)
    x = cr.from_numpy(IMAGES)
    step = cr.compile(lambda t: layer(t, training=True) * 1.0)
    outs = []
    for seed in range(4):              # two traced calls, then replays
        cr.manual_seed(seed)
        got = step(x).array.copy()
        cr.manual_seed(seed)
        np.testing.assert_array_equal(got, layer(x, training=True).array)
        outs.append(got.tobytes())
    assert len(set(outs)) == 4
