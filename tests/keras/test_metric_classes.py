"""Keras 3's metric classes and metric functions against real Keras: state accumulated over two
batches, with and without sample weights; the functions' per-sample values; configs
round-trip."""

import os

import numpy as np
import pytest

from chainrule.keras import metrics

rng = np.random.default_rng(1)
N, C = 40, 5
PROBS = rng.dirichlet(np.ones(C), N).astype(np.float32)
ONE_HOT = np.eye(C, dtype=np.float32)[rng.integers(0, C, N)]
MULTI = (rng.uniform(size=(N, C)) < 0.4).astype(np.float32)
BITS = rng.integers(0, 2, (N, 1)).astype(np.float32)
SCORES = rng.uniform(0, 1, (N, 1)).astype(np.float32)
SOFT = np.where(rng.uniform(size=(N, 1)) < 0.5, BITS, 0.7).astype(np.float32)  # soft labels
WEIGHTS = rng.uniform(0, 2, N).astype(np.float32)

CASES = [
    ("Accuracy", {}, np.round(SCORES), (SCORES > 0.5).astype(np.float32)),
    ("BinaryAccuracy", {}, BITS, SCORES),
    ("BinaryAccuracy", {"threshold": 0.3}, MULTI, PROBS),
    ("BinaryAccuracy", {}, SOFT, SCORES),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalAccuracy", {}, ONE_HOT.argmax(-1), PROBS),
    ("MeanSquaredError", {}, ONE_HOT, PROBS),
    ("MeanAbsoluteError", {}, ONE_HOT, PROBS),
    ("Precision", {}, BITS, SCORES),
    ("Recall", {"thresholds": [0.3, 0.6]}, BITS, SCORES),
    ("Precision", {"top_k": 2}, ONE_HOT, PROBS),
    ("Recall", {"class_id": 2}, ONE_HOT, PROBS),
    ("AUC", {}, BITS, SCORES),
    ("AUC", {"curve": "PR"}, BITS, SCORES),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, BITS, SCORES),
    ("AUC", {"num_thresholds": 7, "summation_method": "majoring"}, BITS, SCORES),
    ("AUC", {"thresholds": [0.2, 0.5, 0.9]}, BITS, SCORES),
    ("AUC", {"multi_label": True}, MULTI, PROBS),
    ("AUC", {"multi_label": True, "label_weights": [1, 2, 0, 1, 1]}, MULTI, PROBS),
    ("AUC", {"from_logits": True}, BITS, rng.normal(size=(N, 1)).astype(np.float32)),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, ONE_HOT.argmax(-1), PROBS),
    ("RootMeanSquaredError", {}, ONE_HOT, PROBS),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BITS, SCORES),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, ONE_HOT.argmax(-1), PROBS),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, ONE_HOT.argmax(-1), PROBS),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


def _run(metric, y_true, y_pred, weights):
    for part in (slice(0, 17), slice(17, N)):
        metric.update_state(y_true[part], y_pred[part],
                            sample_weight=None if weights is None else weights[part])
    return np.asarray(metric.result(), np.float64)


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_metric_class_equals_keras(name, kwargs, y_true, y_pred):
    keras = _keras()
    for weights in (None, WEIGHTS):
        want = keras.ops.convert_to_numpy(_run(getattr(keras.metrics, name)(**kwargs), y_true,
                                               y_pred, weights))
        got = _run(getattr(metrics, name)(**kwargs), y_true, y_pred, weights)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    want_config = getattr(keras.metrics, name)(name="m", **kwargs).get_config()
    config = getattr(metrics, name)(name="m", **kwargs).get_config()
    for key, value in want_config.items():   # Keras's own thresholds include its ε ends
        if key != "thresholds":
            np.testing.assert_array_equal(config[key], keras.ops.convert_to_numpy(value)
                                          if hasattr(value, "shape") else value)


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_metric_reset_and_config_round_trip(name, kwargs, y_true, y_pred):
    metric = getattr(metrics, name)(**kwargs)
    first = _run(metric, y_true, y_pred, WEIGHTS)
    metric.reset_state()
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()
    np.testing.assert_allclose(_run(again, y_true, y_pred, WEIGHTS), first)
    np.testing.assert_allclose(_run(metric, y_true, y_pred, WEIGHTS), first)


# (function name, keyword arguments, y_true, y_pred)
FUNCTION_CASES = [
    ("categorical_accuracy", {}, ONE_HOT, PROBS),
    ("sparse_categorical_accuracy", {}, ONE_HOT.argmax(-1), PROBS),
    ("sparse_categorical_accuracy", {}, ONE_HOT.argmax(-1)[:, None], PROBS),
    ("binary_accuracy", {}, BITS, SCORES),
    ("binary_accuracy", {"threshold": 0.3}, MULTI, PROBS),
    ("binary_accuracy", {}, SOFT, SCORES),
    ("top_k_categorical_accuracy", {"k": 2}, ONE_HOT, PROBS),
    ("sparse_top_k_categorical_accuracy", {"k": 3}, ONE_HOT.argmax(-1), PROBS),
    ("mean_squared_error", {}, ONE_HOT, PROBS),
    ("mean_absolute_error", {}, ONE_HOT, PROBS),
]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", FUNCTION_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(FUNCTION_CASES)])
@pytest.mark.parametrize("time_steps", [None, 4], ids=["2d", "3d"])
def test_metric_function_equals_keras(name, kwargs, y_true, y_pred, time_steps):
    """A function gives Keras's per-sample (binary_accuracy: per-element) values."""
    keras = _keras()
    if time_steps:   # (N, ...) → (N/T, T, ...): sequences are scored per step
        y_true = y_true.reshape(N // time_steps, time_steps, *y_true.shape[1:])
        y_pred = y_pred.reshape(N // time_steps, time_steps, *y_pred.shape[1:])
    want = keras.ops.convert_to_numpy(getattr(keras.metrics, name)(y_true, y_pred, **kwargs))
    got = getattr(metrics, name)(y_true, y_pred, **kwargs)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_a_per_sample_metric_function_is_averaged_over_samples():
    """A user metric returning one value per sample (Keras's contract) is averaged over the
    samples, not over batches, when the last batch is smaller; a float counts for each sample."""
    per_sample = metrics.MeanMetricWrapper(lambda y, p: np.abs(p - y).mean(-1))
    batch_mean = metrics.MeanMetricWrapper(lambda y, p: float(np.abs(p - y).mean()))
    for m in (per_sample, batch_mean):
        for part in (slice(0, 17), slice(17, N)):
            m.update_state(ONE_HOT[part], PROBS[part])
        assert m.result() == pytest.approx(np.abs(PROBS - ONE_HOT).mean(), rel=1e-6)


def test_sum_and_call_equal_keras():
    keras = _keras()
    want, got = keras.metrics.Sum(), metrics.Sum()
    want.update_state(PROBS, sample_weight=WEIGHTS[:, None])
    got.update_state(PROBS, sample_weight=WEIGHTS[:, None])
    assert got.result() == pytest.approx(float(want.result()), rel=1e-6)
    acc = metrics.Accuracy()
    assert acc([1, 2, 3], [1, 2, 4]) == pytest.approx(2 / 3)
    assert metrics.AUC().result() == 0.0 and metrics.Precision().result() == 0.0
