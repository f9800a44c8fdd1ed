"""The public names of keras.losses / metrics / optimizers / schedules: Keras's, and no
implementation imports (``np``, ``cr``, ``Any``, ``annotations``) among them."""

import pytest

from chainrule import keras

MODULES = [keras.losses, keras.metrics, keras.optimizers, keras.optimizers.schedules]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_names_exist_and_leak_nothing(module):
    assert sorted(set(module.__all__)) == sorted(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
    assert not {"np", "cr", "F", "Any", "Callable", "annotations", "Tensor", "math", "copy",
                "inspect"} & set(module.__all__)
    star: dict = {}
    exec(f"from {module.__name__} import *", star)
    assert set(star) - {"__builtins__"} == set(module.__all__)


def test_keras_names_are_there():
    for name in ("Loss", "SparseCategoricalCrossentropy", "Huber", "KLDivergence", "LogCosh",
                 "huber", "kl_divergence", "log_cosh", "get"):
        assert name in keras.losses.__all__
    for name in ("AUC", "Precision", "Recall", "Sum", "RootMeanSquaredError", "Mean"):
        assert name in keras.metrics.__all__
    assert "schedules" in keras.optimizers.__all__
    assert "LearningRateSchedule" in keras.optimizers.schedules.__all__
