"""Keras losses and metrics against NumPy formulas; the fused logits forms against the
probability forms; compile's reduction of a loss function's per-sample values."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import losses, metrics

rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(4), 6).astype(np.float32)
Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]


def t(a):
    return cr.from_numpy(np.asarray(a))


def test_probability_losses_match_numpy_per_sample():
    cce = -(Y * np.log(P)).sum(-1)
    close = np.testing.assert_allclose
    close(losses.get("categorical_crossentropy")(t(Y), t(P)).array, cce, rtol=1e-5)
    close(losses.sparse_categorical_crossentropy(t(Y.argmax(-1)), t(P)).array, cce, rtol=1e-5)
    p, y = P[:, :1], Y[:, :1]
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(-1)
    close(losses.binary_crossentropy(t(y), t(p)).array, bce, rtol=1e-5)
    close(losses.get("mse")(t(Y), t(P)).array, ((Y - P) ** 2).mean(-1), rtol=1e-6)
    close(losses.get("mae")(t(Y), t(P)).array, np.abs(Y - P).mean(-1), rtol=1e-6)
    hinge = np.maximum(1 - np.where(Y == 0, -1, Y) * P, 0).mean(-1)
    close(losses.get("hinge")(t(Y), t(P)).array, hinge, rtol=1e-6)
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("crossentropy")


def test_fused_forms_equal_activation_then_loss():
    z = rng.normal(size=(6, 4)).astype(np.float32)
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    for name, y in (("categorical_crossentropy", Y), ("sparse_categorical_crossentropy",
                                                       Y.argmax(-1))):
        loss = losses.get(name)
        fused = losses.from_logits(loss, "softmax")
        np.testing.assert_allclose(fused(t(y), t(z)).array, loss(t(y), t(probs)).array,
                                   rtol=1e-5)
    fused = losses.from_logits(losses.binary_crossentropy, "sigmoid")
    sig = 1 / (1 + np.exp(-z[:, :1]))
    np.testing.assert_allclose(fused(t(Y[:, :1]), t(z[:, :1])).array,
                               losses.binary_crossentropy(t(Y[:, :1]), t(sig)).array, rtol=1e-5)
    assert losses.from_logits(losses.mean_squared_error, "softmax") is None


def test_compile_averages_a_loss_function_s_per_sample_values():
    """As Keras wraps a loss function: its per-sample values are averaged over the batch
    (weighted by sample_weight), so a function and its Loss class train alike, and a user
    function may return per-sample values or a scalar."""
    from chainrule import keras

    x = rng.normal(size=(6, 3)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)
    w = rng.uniform(0.5, 2, 6).astype(np.float32)

    def evaluate(loss, **kw):
        cr.manual_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", loss=loss)
        return model.evaluate(x, y, verbose=0, batch_size=6, **kw)

    want = evaluate(losses.MeanSquaredError())
    assert evaluate("mse") == pytest.approx(want, rel=1e-6)
    assert evaluate(losses.mean_squared_error) == pytest.approx(want, rel=1e-6)
    assert evaluate(lambda y, p: ((y - p) ** 2).mean(-1)) == pytest.approx(want, rel=1e-6)
    assert evaluate(lambda y, p: ((y - p) ** 2).mean()) == pytest.approx(want, rel=1e-6)
    weighted = evaluate(losses.MeanSquaredError(), sample_weight=w)
    assert evaluate("mse", sample_weight=w) == pytest.approx(weighted, rel=1e-6)


def test_accuracy_resolution_and_values():
    assert metrics.resolve("accuracy", "categorical_crossentropy", (None, 4))[1] is \
        metrics.categorical_accuracy
    assert metrics.resolve("acc", "sparse_categorical_crossentropy", (None, 4))[1] is \
        metrics.sparse_categorical_accuracy
    assert metrics.resolve("accuracy", "mse", (None, 1))[1] is metrics.binary_accuracy
    acc = (Y.argmax(-1) == P.argmax(-1)).astype(np.float32)   # per sample, as in Keras 3
    np.testing.assert_array_equal(metrics.categorical_accuracy(Y, P), acc)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(Y.argmax(-1), P), acc)
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(Y, P, k=4), np.ones(6))
    np.testing.assert_array_equal(
        metrics.binary_accuracy(np.array([1, 0, 1.0]), np.array([0.9, 0.2, 0.4])), [1, 1, 0])
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.resolve("f1", "mse", None)
