"""Exact resume for Keras models: ModelCheckpoint + ``load_model`` + ``fit(initial_epoch=)``
continues bit for bit like a run never stopped (Adam state, shuffling and dropout RNG, epoch);
BackupAndRestore resumes an interrupted ``fit``; TerminateOnNaN; LambdaCallback /
LearningRateScheduler log keys."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import callbacks, layers

pytest.importorskip("h5py")


def make():
    inp = keras.Input((6,))
    h = layers.Dropout(0.3)(layers.Dense(16, activation="relu")(inp))
    model = keras.Model(inp, layers.Dense(3, activation="softmax")(h))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)


def test_checkpoint_then_initial_epoch_is_bit_exact(tmp_path):
    x, y = data()
    cr.manual_seed(0)
    straight = make()
    ck = callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.keras"))
    full = straight.fit(x, y, epochs=4, batch_size=16, validation_split=0.2, callbacks=[ck],
                        verbose=0).history
    cr.manual_seed(123)                      # the archive must bring back the RNG state
    resumed = keras.models.load_model(tmp_path / "ckpt-2.keras")
    rest = resumed.fit(x, y, epochs=4, batch_size=16, validation_split=0.2, initial_epoch=2,
                       verbose=0).history
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert rest["loss"] == full["loss"][2:] and rest["val_accuracy"] == full["val_accuracy"][2:]


def test_checkpoint_every_n_batches(tmp_path):
    x, y = data()
    model = make()
    ck = callbacks.ModelCheckpoint(str(tmp_path / "b-{epoch}-{batch}.weights.h5"),
                                   save_weights_only=True, save_freq=3)
    model.fit(x, y, epochs=2, batch_size=20, callbacks=[ck], verbose=0)   # 5 batches/epoch
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "b-1-3.weights.h5", "b-2-1.weights.h5", "b-2-4.weights.h5"]
    import h5py
    with h5py.File(tmp_path / "b-2-4.weights.h5") as f:   # Keras's layout, not a state dict
        assert f["layers/dense/vars/0"].shape == (6, 16)
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("x.keras", save_freq=0)


class Interrupt(callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    x, y = data()
    cr.manual_seed(0)
    straight = make()
    full = straight.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    cr.manual_seed(0)
    model = make()
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=16, callbacks=[backup, Interrupt()], verbose=0)
    assert (tmp_path / "backup" / "latest.keras").exists()
    cr.manual_seed(7)
    rest = model.fit(x, y, epochs=4, batch_size=16, callbacks=[backup], verbose=0)
    assert rest.epoch == [2, 3] and rest.history["loss"] == full["loss"][2:]
    for a, b in zip(straight.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "backup" / "latest.keras").exists()   # deleted after success


def test_terminate_on_nan_stops_within_the_epoch(capsys):
    x, y = data()
    model = make()
    seen = []

    def poison(batch, logs):
        seen.append(batch)
        if batch == 2:
            logs["loss"] = float("nan")
    model.fit(x, y, epochs=3, batch_size=10, verbose=0,
              callbacks=[callbacks.LambdaCallback(on_train_batch_end=poison),
                         callbacks.TerminateOnNaN()])
    assert seen == [0, 1, 2] and "Batch 2: Invalid loss, terminating training" in \
        capsys.readouterr().out


def test_learning_rate_scheduler_logs_learning_rate():
    x, y = data()
    model = make()
    h = model.fit(x, y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)]).history
    assert h["learning_rate"] == pytest.approx([0.005, 0.0025, 0.00125])
    assert model.optimizer.learning_rate == pytest.approx(0.00125)
