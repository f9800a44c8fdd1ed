"""The Keras ``TensorBoard`` callback: Keras's log keys under ``train`` and ``validation``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _scalars(path: Path, tag: str) -> list[tuple[int, float]]:
    acc = event_accumulator.EventAccumulator(str(path))
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_fit_writes_epoch_logs_for_train_and_validation(tmp_path: Path) -> None:
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cb = keras.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=1, update_freq=2)
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[cb],
                     verbose=0)
    train, val = tmp_path / "train", tmp_path / "validation"
    losses = _scalars(train, "epoch_loss")
    assert [s for s, _ in losses] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in losses], hist.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in _scalars(val, "epoch_loss")],
                               hist.history["val_loss"], rtol=1e-6)
    assert len(_scalars(val, "epoch_accuracy")) == 3
    assert [s for s, _ in _scalars(train, "epoch_learning_rate")] == [0, 1, 2]
    assert [s for s, _ in _scalars(train, "batch_loss")] == [2, 4, 6, 8]  # 3 batches an epoch
    acc = event_accumulator.EventAccumulator(str(train))
    acc.Reload()
    assert any(t.endswith("/histogram") for t in acc.Tags()["histograms"])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or a positive int"):
        keras.callbacks.TensorBoard(update_freq="step")
    with pytest.raises(ValueError, match="histogram_freq must be >= 0, got -1"):
        keras.callbacks.TensorBoard(histogram_freq=-1)
