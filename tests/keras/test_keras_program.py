"""A small Keras-idiom program — loss, metric and schedule instances, fit, evaluate, save and
load a ``.keras`` file — run unchanged on chainrule and on real Keras 3."""

import os

import pytest

PROGRAM = '''
import numpy as np

rng = np.random.default_rng(0)
x = rng.normal(size=(96, 8)).astype("float32")
y = ((x[:, :3].sum(1) > 0).astype("int64") + (x[:, 3] > 0.8)).astype("int64")
weights = np.where(y == 2, 2.0, 1.0).astype("float32")

model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(3)])
schedule = keras.optimizers.schedules.CosineDecay(
    0.0, decay_steps=30, warmup_target=0.05, warmup_steps=6)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=2),
                       keras.metrics.SparseCategoricalCrossentropy(from_logits=True)])
history = model.fit(x, y, sample_weight=weights, batch_size=16, epochs=5, verbose=0)
result = model.evaluate(x, y, verbose=0, return_dict=True)
model.save(PATH)
restored = keras.models.load_model(PATH)
again = restored.evaluate(x, y, verbose=0, return_dict=True)
lr = (float(model.optimizer.learning_rate), float(restored.optimizer.learning_rate))
'''


def _run(keras, path):
    scope = {"keras": keras, "PATH": str(path)}
    exec(PROGRAM, scope)
    return scope


def _check(run):
    losses = run["history"].history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    assert set(run["result"]) == {"loss", "sparse_top_k_categorical_accuracy",
                                  "sparse_categorical_crossentropy"}
    assert run["result"]["sparse_top_k_categorical_accuracy"] > 0.8
    for k, v in run["result"].items():
        assert run["again"][k] == pytest.approx(v, rel=1e-6)
    # 30 steps: past the warmup, on the cosine; the restored optimizer continues from there
    assert run["lr"][0] == pytest.approx(run["lr"][1], rel=1e-6)
    assert 0.0 < run["lr"][0] < 0.05
    assert isinstance(run["restored"].loss, type(run["model"].loss))


def test_program_runs_on_chainrule(tmp_path):
    pytest.importorskip("h5py")
    from chainrule import keras
    _check(_run(keras, tmp_path / "model.keras"))


def test_program_runs_on_keras(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    keras.utils.set_random_seed(0)
    _check(_run(keras, tmp_path / "model.keras"))


def test_files_move_between_chainrule_and_keras(tmp_path):
    """Each framework loads the other's archive: same evaluation, the schedule continues."""
    pytest.importorskip("h5py")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    real = pytest.importorskip("keras")
    if real.backend.backend() != "torch":
        pytest.skip("keras runs on another backend here")
    from chainrule import keras
    for writer, reader in ((real, keras), (keras, real)):
        run = _run(writer, tmp_path / f"{writer.__name__}.keras")
        loaded = reader.models.load_model(run["PATH"])
        result = loaded.evaluate(run["x"], run["y"], verbose=0, return_dict=True)
        for k, v in run["result"].items():
            assert result[k] == pytest.approx(v, rel=1e-5)
        assert float(loaded.optimizer.learning_rate) == pytest.approx(run["lr"][0], rel=1e-5)
