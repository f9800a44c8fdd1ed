"""Layer contract (Keras's run_layer_test): output shape, parameter count, channels-last
semantics against the wrapped cr.nn module, train/eval behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import Sequential, layers


def check_layer(layer, input_shape, expected_shape, n_params, dtype=np.float32):
    x = np.random.default_rng(0).random(input_shape).astype(dtype)
    if dtype != np.float32:
        x = (x * 5).astype(dtype)
    out = layer(cr.from_numpy(x))
    assert tuple(out.shape) == expected_shape
    assert layer.output_shape == (None, *expected_shape[1:])
    assert layer.count_params() == n_params
    return x, out


@pytest.mark.parametrize("make,shape,expected,n", [
    (lambda: layers.Dense(4), (2, 3), (2, 4), 16),
    (lambda: layers.Dense(4, use_bias=False), (2, 5, 3), (2, 5, 4), 12),
    (lambda: layers.Conv2D(8, 3, padding="same"), (2, 6, 6, 3), (2, 6, 6, 8), 224),
    (lambda: layers.Conv2D(4, (2, 3), strides=2), (1, 7, 9, 2), (1, 3, 4, 4), 52),
    (lambda: layers.Conv1D(5, 3), (2, 10, 4), (2, 8, 5), 65),
    (lambda: layers.MaxPooling2D(), (2, 7, 7, 3), (2, 3, 3, 3), 0),
    (lambda: layers.AveragePooling2D((2, 2), strides=1), (2, 4, 4, 3), (2, 3, 3, 3), 0),
    (lambda: layers.GlobalAveragePooling2D(), (2, 4, 5, 3), (2, 3), 0),
    (lambda: layers.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    (lambda: layers.Activation("tanh"), (2, 3), (2, 3), 0),
    (lambda: layers.BatchNormalization(), (4, 3, 3, 6), (4, 3, 3, 6), 24),
    (lambda: layers.BatchNormalization(), (4, 6), (4, 6), 24),
    (lambda: layers.LSTM(8), (2, 5, 3), (2, 8), 4 * 8 * (3 + 8) + 4 * 8),   # Keras's count
    (lambda: layers.LSTM(8, return_sequences=True), (2, 5, 3), (2, 5, 8), 384),
])
def test_layer_contract(make, shape, expected, n):
    check_layer(make(), shape, expected, n)


def test_conv2d_is_channels_last_conv():
    layer = layers.Conv2D(4, 3, activation="relu")
    x, out = check_layer(layer, (2, 5, 5, 3), (2, 3, 3, 4), 112)
    w, b = layer.conv.weight.array, layer.conv.bias.array
    b[...] = np.arange(4) * 0.1
    out = layer(cr.from_numpy(x)).array
    patch = x[1, 1:4, 0:3, :]                       # output pixel (1, 1, 0)
    ref = np.maximum(0, np.einsum("hwc,ochw->o", patch, w) + b)
    assert np.allclose(out[1, 1, 0], ref, atol=1e-5)


def test_maxpool_and_flatten_follow_keras_order():
    x = np.arange(2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
    out = layers.MaxPool2D()(cr.from_numpy(x)).array
    assert np.array_equal(out, x.reshape(2, 2, 2, 2, 2, 3).max(axis=(2, 4)))
    assert np.array_equal(layers.Flatten()(cr.from_numpy(x)).array, x.reshape(2, -1))


def test_batchnorm_train_eval_and_keras_momentum():
    bn = layers.BatchNormalization()
    x = np.random.default_rng(1).normal(3, 2, (64, 2, 2, 5)).astype(np.float32)
    y = bn(cr.from_numpy(x), training=True).array
    assert np.allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    assert np.allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-2)
    mean = x.mean(axis=(0, 1, 2))
    assert np.allclose(bn.moving_mean.array, 0.01 * mean, atol=1e-4)   # Keras momentum .99
    bn.eval()
    rm, rv = bn.moving_mean.array, bn.moving_variance.array
    assert np.allclose(rv, 0.99 + 0.01 * x.var(axis=(0, 1, 2)), rtol=1e-4)   # biased, as Keras
    assert np.allclose(bn(cr.from_numpy(x)).array, (x - rm) / np.sqrt(rv + 1e-3), atol=1e-5)
    assert bn.count_params() == 20 and bn._param_counts() == (10, 10)


def test_dropout_train_vs_eval():
    d = layers.Dropout(0.5)
    x = cr.ones(1000)
    x = x.reshape(10, 100)
    y = d(x, training=True).array
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    assert np.array_equal(d(x).array, x.array)  # called outside fit: inference, as in Keras
    d.train()
    assert (d(x).array == 0).any()


def test_embedding_lstm_model_trains():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 10, (64, 6))
    y = (x[:, 0] > 5).astype(np.float32).reshape(-1, 1)   # depends on the first token only
    model = Sequential([layers.Embedding(10, 8, input_shape=(6,)), layers.LSTM(8),
                        layers.Dense(1, activation="sigmoid")])
    lstm = model.layers[1]
    h = 8
    assert np.all(lstm.bias.array[h:2 * h] == 1) and np.all(lstm.bias.array[:h] == 0)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0]


def test_fit_accepts_a_dataloader():
    from chainrule.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32)).reshape(-1, 1)
    loader = DataLoader(TensorDataset(cr.from_numpy(x), cr.from_numpy(y)), batch_size=16,
                        shuffle=True)
    model = Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=layers_opt(), loss="mse", metrics=["mae"])
    hist = model.fit(loader, epochs=5, verbose=0, validation_data=(x, y)).history
    assert hist["loss"][-1] < 0.5 * hist["loss"][0] and "val_mae" in hist


def layers_opt():
    from chainrule.keras.optimizers import SGD
    return SGD(0.1, momentum=0.9)
