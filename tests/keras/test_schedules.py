"""Keras 3's learning-rate schedules against real Keras, and a keras optimizer applying one per
step."""

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import optimizers
from chainrule.keras.optimizers import schedules

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.5,
                              staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[3, 10], values=[1.0, 0.5, 0.1])),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=4, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=4, decay_rate=0.5,
                              staircase=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=10, cycle=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=20, warmup_target=0.2,
                         warmup_steps=5)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=2.0,
                                 m_mul=0.8, alpha=0.05)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    return keras


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_schedule_equals_keras(name, kwargs):
    keras = _keras()
    want = getattr(keras.optimizers.schedules, name)(**kwargs)
    got = getattr(schedules, name)(**kwargs)
    np.testing.assert_allclose([got(s) for s in range(60)],
                               [float(want(s)) for s in range(60)], rtol=1e-5, atol=1e-8)
    assert got.get_config() == want.get_config()
    again = schedules.deserialize(schedules.serialize(got))
    assert [again(s) for s in range(60)] == [got(s) for s in range(60)]


def test_optimizer_applies_the_schedule_each_step():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=schedule)
    w = cr.zeros(1, requires_grad=True)
    opt.bind([w])
    for step in range(4):
        assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** step)
        opt.apply([cr.ones(1)], [w])
    assert w.item() == pytest.approx(-(0.1 + 0.05 + 0.025 + 0.0125))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.3
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, decay_steps=0)
