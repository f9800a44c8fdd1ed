"""Keras losses and metrics against NumPy formulas; the fused logits forms against the
probability forms."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import losses, metrics

rng = np.random.default_rng(0)
P = rng.dirichlet(np.ones(4), 6).astype(np.float32)
Y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]


def t(a):
    return cr.from_numpy(np.asarray(a))


def test_probability_losses_match_numpy():
    cce = -(Y * np.log(P)).sum(-1).mean()
    assert losses.get("categorical_crossentropy")(t(Y), t(P)).item() == pytest.approx(cce, 1e-5)
    scce = losses.sparse_categorical_crossentropy(t(Y.argmax(-1)), t(P)).item()
    assert scce == pytest.approx(cce, 1e-5)
    p, y = P[:, :1], Y[:, :1]
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    assert losses.binary_crossentropy(t(y), t(p)).item() == pytest.approx(bce, 1e-5)
    assert losses.get("mse")(t(Y), t(P)).item() == pytest.approx(((Y - P) ** 2).mean(), 1e-6)
    assert losses.get("mae")(t(Y), t(P)).item() == pytest.approx(np.abs(Y - P).mean(), 1e-6)
    hinge = np.maximum(1 - np.where(Y == 0, -1, Y) * P, 0).mean()
    assert losses.get("hinge")(t(Y), t(P)).item() == pytest.approx(hinge, 1e-6)
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("crossentropy")


def test_fused_forms_equal_activation_then_loss():
    z = rng.normal(size=(6, 4)).astype(np.float32)
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    for name, y in (("categorical_crossentropy", Y), ("sparse_categorical_crossentropy",
                                                       Y.argmax(-1))):
        loss = losses.get(name)
        fused = losses.from_logits(loss, "softmax")
        assert fused(t(y), t(z)).item() == pytest.approx(loss(t(y), t(probs)).item(), 1e-5)
    fused = losses.from_logits(losses.binary_crossentropy, "sigmoid")
    sig = 1 / (1 + np.exp(-z[:, :1]))
    assert fused(t(Y[:, :1]), t(z[:, :1])).item() == pytest.approx(
        losses.binary_crossentropy(t(Y[:, :1]), t(sig)).item(), 1e-5)
    assert losses.from_logits(losses.mean_squared_error, "softmax") is None


def test_accuracy_resolution_and_values():
    assert metrics.resolve("accuracy", "categorical_crossentropy", (None, 4))[1] is \
        metrics.categorical_accuracy
    assert metrics.resolve("acc", "sparse_categorical_crossentropy", (None, 4))[1] is \
        metrics.sparse_categorical_accuracy
    assert metrics.resolve("accuracy", "mse", (None, 1))[1] is metrics.binary_accuracy
    acc = (Y.argmax(-1) == P.argmax(-1)).mean()
    assert metrics.categorical_accuracy(Y, P) == pytest.approx(acc)
    assert metrics.sparse_categorical_accuracy(Y.argmax(-1), P) == pytest.approx(acc)
    assert metrics.top_k_categorical_accuracy(Y, P, k=4) == 1.0
    assert metrics.binary_accuracy(np.array([1, 0, 1.0]), np.array([0.9, 0.2, 0.4])) == \
        pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="Unknown metric"):
        metrics.resolve("f1", "mse", None)
