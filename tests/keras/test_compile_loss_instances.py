"""``compile`` with Loss instances: the same training loss as the loss functions, sample weights
and the instance's reduction applied, the fused logits form used after softmax / sigmoid."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import losses

rng = np.random.default_rng(3)
X = rng.normal(size=(12, 5)).astype(np.float32)
Y = rng.integers(0, 3, 12)
W = rng.uniform(0.5, 2, 12).astype(np.float32)


def _model(activation):
    cr.manual_seed(0)
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation=activation)])


def _loss(model, loss, **kwargs):
    model.compile("sgd", loss=loss)
    return model.evaluate(X, Y, verbose=0, batch_size=12, **kwargs)


def test_instance_equals_function_and_applies_weights_and_reduction():
    plain = _loss(_model("softmax"), "sparse_categorical_crossentropy")
    assert _loss(_model("softmax"), losses.SparseCategoricalCrossentropy()) == \
        pytest.approx(plain, rel=1e-6)
    logits = _model(None)
    probs = keras.activations.softmax(logits(cr.from_numpy(X))).array
    per_sample = -np.log(probs[np.arange(12), Y])
    assert _loss(_model(None), losses.SparseCategoricalCrossentropy(from_logits=True)) == \
        pytest.approx(plain, rel=1e-6)
    assert plain == pytest.approx(per_sample.mean(), rel=1e-5)
    weighted = _loss(_model("softmax"), losses.SparseCategoricalCrossentropy(reduction="sum"),
                     sample_weight=W)
    assert weighted == pytest.approx((per_sample * W).sum(), rel=1e-5)


def test_softmax_output_uses_the_fused_form():
    loss = losses.CategoricalCrossentropy()
    fused = loss.with_logits("softmax")
    assert fused.get_config()["from_logits"] and not loss.get_config()["from_logits"]
    assert losses.MeanSquaredError().with_logits("softmax") is None
    z = cr.from_numpy(np.array([[60.0, -60.0, 0.0]]))   # softmax saturates: clipped probs
    y = cr.from_numpy(np.array([[0.0, 1.0, 0.0]]))
    assert losses.of_output(loss, y, z, "softmax", None).item() == pytest.approx(120.0)


def test_accuracy_resolves_from_a_loss_instance():
    model = _model("softmax")
    model.compile("sgd", loss=losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    logs = model.evaluate(X, Y, verbose=0, return_dict=True)
    probs = model.predict(X, verbose=0)
    assert logs["accuracy"] == pytest.approx((probs.argmax(-1) == Y).mean())


def test_metric_instances_of_a_two_output_model_count_separately():
    inp = keras.Input((5,))
    model = keras.Model(inp, [keras.layers.Dense(1, activation="sigmoid", name="a")(inp),
                              keras.layers.Dense(1, activation="sigmoid", name="b")(inp)])
    model.compile("sgd", loss=losses.BinaryCrossentropy(),
                  metrics=[[keras.metrics.AUC()], [keras.metrics.AUC()]])
    ya, yb = (Y == 0).astype(np.float32), (Y == 1).astype(np.float32)
    logs = model.evaluate(X, [ya, yb], verbose=0, return_dict=True)
    pa, pb = model.predict(X, verbose=0)
    for y, p, key in ((ya, pa, "a_auc"), (yb, pb, "b_auc")):
        auc = keras.metrics.AUC()
        auc.update_state(y, p)
        assert logs[key] == pytest.approx(auc.result())
