"""``keras.regularizers`` on Dense, Conv2D and Embedding: the penalties in ``layer.losses``
and ``model.losses``, added to the training loss by ``fit``/``train_on_batch``, and kept in
the layer config; against real Keras 3 (torch backend) with the same weights where it is
installed."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers, regularizers


def _model(lib: object) -> object:
    reg = lib.regularizers
    return lib.Sequential([
        lib.Input((6, 6, 1)),
        lib.layers.Conv2D(2, 3, kernel_regularizer=reg.L2(0.01), bias_regularizer="l1"),
        lib.layers.Flatten(),
        lib.layers.Dense(3, kernel_regularizer=reg.L1L2(l1=0.001, l2=0.002)),
    ])


def test_penalties_and_training_loss_match_keras() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    real = pytest.importorskip("keras")
    ours, theirs = _model(keras), _model(real)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(w.shape).astype(np.float32) for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    mine = sum(float(p.item()) for p in ours.losses)
    want = sum(float(real.ops.convert_to_numpy(p)) for p in theirs.losses)
    np.testing.assert_allclose(mine, want, rtol=1e-5)
    x = rng.standard_normal((4, 6, 6, 1)).astype(np.float32)
    y = rng.standard_normal((4, 3)).astype(np.float32)
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="mse")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    got = ours.fit(x, y, batch_size=4, epochs=1, verbose=0).history["loss"]
    want = theirs.fit(x, y, batch_size=4, epochs=1, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_penalty_shrinks_the_weights_it_regularizes() -> None:
    cr.manual_seed(0)
    x = np.random.default_rng(1).standard_normal((64, 5)).astype(np.float32)
    y = np.zeros((64, 1), np.float32)
    norms = []
    for reg in (None, regularizers.L2(1.0)):
        model = keras.Sequential([keras.Input((5,)), layers.Dense(1, kernel_regularizer=reg)])
        model.compile(optimizer="sgd", loss="mse")
        model.layers[0].linear.weight.array[...] = 1.0
        model.fit(x, y + x @ np.ones((5, 1), np.float32), epochs=3, verbose=0)
        norms.append(float(np.abs(model.layers[0].get_weights()[0]).sum()))
    assert norms[1] < norms[0]


def test_config_round_trip_and_errors() -> None:
    dense = layers.Dense(2, kernel_regularizer=regularizers.l2(0.3), bias_regularizer="l1")
    config = dense.get_config()
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["kernel_regularizer"]["config"] == {"l2": 0.3}
    twin = layers.Dense.from_config(config)
    assert isinstance(twin.kernel_regularizer, regularizers.L2) and twin.kernel_regularizer.l2 \
        == 0.3 and isinstance(twin.bias_regularizer, regularizers.L1)
    assert layers.Dense(2).get_config()["kernel_regularizer"] is None
    emb = layers.Embedding(5, 2, embeddings_regularizer="l2")
    emb(cr.tensor([[0, 1]]))
    assert len(emb.losses) == 1
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Flatten"):
        layers.Flatten(kernel_regularizer="l2")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        layers.Dense(2, kernel_regularizer="l3")
