"""Keras 3's Loss classes against real Keras on random inputs (each reduction, with and without
sample weights), their configs, and their gradients against finite differences."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import gradcheck
from chainrule.keras import losses

rng = np.random.default_rng(0)
N, C = 6, 4
PROBS = rng.dirichlet(np.ones(C), N)
LOGITS = rng.normal(size=(N, C))
ONE_HOT = np.eye(C)[rng.integers(0, C, N)]
BITS = rng.integers(0, 2, (N, C)).astype(np.float64)
REG_T, REG_P = rng.normal(size=(N, C)), rng.normal(size=(N, C))
POS_T, POS_P = rng.uniform(0.1, 2, (N, C)), rng.uniform(0.1, 2, (N, C))
WEIGHTS = rng.uniform(0, 2, N)

# (class name, constructor arguments, y_true, y_pred)
CASES = [
    ("MeanSquaredError", {}, REG_T, REG_P),
    ("MeanAbsoluteError", {}, REG_T, REG_P),
    ("MeanAbsolutePercentageError", {}, REG_T, REG_P),
    ("MeanSquaredLogarithmicError", {}, POS_T, POS_P),
    ("CosineSimilarity", {}, REG_T, REG_P),
    ("Huber", {"delta": 0.7}, REG_T, REG_P),
    ("LogCosh", {}, REG_T, REG_P),
    ("KLDivergence", {}, ONE_HOT * 0.9 + 0.025, PROBS),
    ("Poisson", {}, POS_T, POS_P),
    ("Hinge", {}, BITS, REG_P),
    ("SquaredHinge", {}, BITS, REG_P),
    ("CategoricalHinge", {}, ONE_HOT, REG_P),
    ("BinaryCrossentropy", {}, BITS, PROBS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BITS, LOGITS),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 1.5}, BITS, PROBS),
    ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, BITS, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, ONE_HOT.argmax(-1), PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, ONE_HOT.argmax(-1), LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 1},
     ONE_HOT.argmax(-1), LOGITS),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"]


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_loss_class_equals_keras(name, kwargs, y_true, y_pred):
    keras = _keras()
    y_true, y_pred = y_true.astype(np.float32), y_pred.astype(np.float32)
    for reduction in REDUCTIONS:
        for weight in (None, WEIGHTS.astype(np.float32)):
            want = getattr(keras.losses, name)(reduction=reduction, **kwargs)(
                y_true, y_pred, sample_weight=weight)
            got = getattr(losses, name)(reduction=reduction, **kwargs)(
                y_true, y_pred, sample_weight=weight)
            np.testing.assert_allclose(got.array, keras.ops.convert_to_numpy(want),
                                       rtol=1e-5, atol=1e-6, err_msg=f"{reduction} {weight}")
    want_config = getattr(keras.losses, name)(**kwargs).get_config()
    config = getattr(losses, name)(**kwargs).get_config()
    assert want_config.items() <= config.items()


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_loss_class_gradient_matches_finite_differences(name, kwargs, y_true, y_pred):
    loss = getattr(losses, name)(**kwargs)
    y = cr.from_numpy(y_true.astype(np.float64))
    p = cr.from_numpy(y_pred.astype(np.float64)).requires_grad_()
    w = cr.from_numpy(WEIGHTS)
    assert gradcheck(lambda p: loss(y, p, sample_weight=w), [p])


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_loss_class_config_round_trip(name, kwargs, y_true, y_pred):
    loss = getattr(losses, name)(reduction="sum", name="mine", **kwargs)
    again = losses.get(losses.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()
    np.testing.assert_allclose(again(y_true, y_pred).array, loss(y_true, y_pred).array)


# (function name, keyword arguments, y_true, y_pred): every loss function of keras.losses
FUNCTION_CASES = [
    ("mean_squared_error", {}, REG_T, REG_P),
    ("mean_absolute_error", {}, REG_T, REG_P),
    ("mean_absolute_percentage_error", {}, REG_T, REG_P),
    ("mean_squared_logarithmic_error", {}, POS_T, POS_P),
    ("cosine_similarity", {}, REG_T, REG_P),
    ("huber", {"delta": 0.7}, REG_T, REG_P),
    ("log_cosh", {}, REG_T, REG_P),
    ("kl_divergence", {}, ONE_HOT * 0.9 + 0.025, PROBS),
    ("poisson", {}, POS_T, POS_P),
    ("hinge", {}, BITS, REG_P),
    ("squared_hinge", {}, BITS, REG_P),
    ("categorical_hinge", {}, ONE_HOT, REG_P),
    ("binary_crossentropy", {}, BITS, PROBS),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, BITS, LOGITS),
    ("binary_focal_crossentropy", {"apply_class_balancing": True}, BITS, PROBS),
    ("categorical_crossentropy", {}, ONE_HOT, PROBS),
    ("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("sparse_categorical_crossentropy", {}, ONE_HOT.argmax(-1), PROBS),
    ("sparse_categorical_crossentropy", {"from_logits": True}, ONE_HOT.argmax(-1), LOGITS),
]
FUNCTION_IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(FUNCTION_CASES)]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", FUNCTION_CASES, ids=FUNCTION_IDS)
@pytest.mark.parametrize("time_steps", [None, 3], ids=["2d", "3d"])
def test_loss_function_equals_keras(name, kwargs, y_true, y_pred, time_steps):
    """A function gives Keras's per-sample values: the last axis reduced, (N,) or (N, T)."""
    keras = _keras()
    if time_steps:   # (N, C) → (N/T, T, C): the loss reduces only the last axis
        y_true = y_true.reshape(N // time_steps, time_steps, *y_true.shape[1:])
        y_pred = y_pred.reshape(N // time_steps, time_steps, *y_pred.shape[1:])
    y_true, y_pred = y_true.astype(np.float32), y_pred.astype(np.float32)
    want = keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
    got = getattr(losses, name)(cr.from_numpy(y_true), cr.from_numpy(y_pred), **kwargs)
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.array, want, rtol=1e-5, atol=1e-6)
    assert losses.get(name) is getattr(losses, name)


def test_functions_are_the_unreduced_values_of_the_classes():
    y, p = cr.from_numpy(POS_T / POS_T.sum(-1, keepdims=True)), cr.from_numpy(PROBS)
    for fn, cls in ((losses.huber, losses.Huber), (losses.log_cosh, losses.LogCosh),
                    (losses.kl_divergence, losses.KLDivergence),
                    (losses.poisson, losses.Poisson), (losses.squared_hinge, losses.SquaredHinge),
                    (losses.mean_absolute_percentage_error, losses.MeanAbsolutePercentageError),
                    (losses.mean_squared_error, losses.MeanSquaredError),
                    (losses.binary_crossentropy, losses.BinaryCrossentropy),
                    (losses.categorical_crossentropy, losses.CategoricalCrossentropy)):
        assert tuple(fn(y, p).shape) == (N,)
        np.testing.assert_allclose(fn(y, p).array, cls(reduction="none")(y, p).array,
                                   rtol=1e-10)
        assert fn(y, p).mean().item() == pytest.approx(cls()(y, p).item(), rel=1e-10)


def test_loss_arguments_are_checked():
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")
    with pytest.raises(ValueError, match="Unknown loss class"):
        losses.deserialize({"class_name": "Nope", "config": {}})
    assert losses.Huber().name == "huber_loss"
    assert losses.SparseCategoricalCrossentropy().reduction == "sum_over_batch_size"


def test_crossentropy_functions_take_keras_arguments():
    y, z = cr.from_numpy(ONE_HOT), cr.from_numpy(LOGITS)
    for fn, cls, target in ((losses.categorical_crossentropy, losses.CategoricalCrossentropy, y),
                            (losses.sparse_categorical_crossentropy,
                             losses.SparseCategoricalCrossentropy,
                             cr.from_numpy(ONE_HOT.argmax(-1))),
                            (losses.binary_crossentropy, losses.BinaryCrossentropy, y)):
        np.testing.assert_allclose(fn(target, z, from_logits=True).array,
                                   cls(from_logits=True, reduction="none")(target, z).array,
                                   rtol=1e-10)
    np.testing.assert_allclose(
        losses.categorical_crossentropy(y, z, from_logits=True, label_smoothing=0.2).array,
        losses.CategoricalCrossentropy(True, 0.2, reduction="none")(y, z).array, rtol=1e-10)
