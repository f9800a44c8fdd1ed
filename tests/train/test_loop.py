"""The framework-neutral loop and callbacks, driven by a fake model (no layers needed)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from chainrule.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ProgbarLogger,
    ReduceLROnPlateau,
    evaluate_loop,
    fit_loop,
    fit_steps,
    predict_loop,
)


class FakeOpt:
    def __init__(self, lr=0.1):
        self.param_groups = [{"lr": lr}, {"lr": lr}]


class FakeModel:
    """A 'model' whose weight w is a state-dict entry; val losses follow a script."""

    def __init__(self, val_losses):
        self.w = np.zeros(1)
        self.val = list(val_losses)
        self.optimizer = FakeOpt()

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, d):
        self.w[...] = d["w"]


def run(model, epochs, callbacks, steps=3, verbose=0):
    state = {"epoch": -1}

    def batches(epoch):
        state["epoch"] = epoch
        return range(steps)

    def step(batch):
        model.w += 1
        return {"loss": float(batch), "acc": 1.0}, 2 + batch   # sizes 2, 3, 4

    def validate(cbs):
        return evaluate_loop(model, lambda b: ({"loss": model.val[state["epoch"]]}, 1),
                             range(2), cbs)

    return fit_loop(model, step, batches, epochs, steps, callbacks, verbose, validate)


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = super().__getattribute__("calls")
            return lambda *a: calls.append((name, *a[:1]) if a and isinstance(a[0], int)
                                           else (name,))
        return super().__getattribute__(name)


def test_hook_order_and_weighted_means():
    rec = Recorder()
    hist = run(FakeModel([0.5, 0.4]), 2, [rec], steps=2)
    epoch = [("on_epoch_begin", 0), ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
             ("on_train_batch_begin", 1), ("on_train_batch_end", 1), ("on_test_begin",),
             ("on_test_batch_begin", 0), ("on_test_batch_end", 0), ("on_test_batch_begin", 1),
             ("on_test_batch_end", 1), ("on_test_end",), ("on_epoch_end", 0)]
    second = [(c[0], 1) if c[0].startswith("on_epoch") else c for c in epoch]
    assert rec.calls == [("on_train_begin",), *epoch, *second, ("on_train_end",)]
    # loss: batches 0, 1 with sizes 2, 3 → (0·2 + 1·3)/5
    assert hist.history["loss"] == [pytest.approx(0.6)] * 2
    assert hist.history["val_loss"] == [0.5, 0.4] and hist.epoch == [0, 1]
    assert rec.params == {"verbose": 0, "epochs": 2, "steps": 2}


def test_fit_steps_yields_once_per_batch_and_returns_the_same_history():
    rec_loop, rec_steps = Recorder(), Recorder()
    hist_loop = run(FakeModel([0.5, 0.4]), 2, [rec_loop], steps=2)
    model = FakeModel([0.5, 0.4])
    state = {"epoch": -1}

    def batches(epoch):
        state["epoch"] = epoch
        return range(2)

    def step(batch):
        model.w += 1
        return {"loss": float(batch), "acc": 1.0}, 2 + batch

    def validate(cbs):
        return evaluate_loop(model, lambda b: ({"loss": model.val[state["epoch"]]}, 1),
                             range(2), cbs)

    run_ = fit_steps(model, step, batches, 2, 2, [rec_steps], 0, validate)
    seen = []
    with pytest.raises(StopIteration) as done:
        while True:
            next(run_)
            seen.append((model.w[0], rec_steps.calls[-1]))
    # one item per batch, each after that batch's on_train_batch_end
    assert seen == [(1, ("on_train_batch_end", 0)), (2, ("on_train_batch_end", 1)),
                    (3, ("on_train_batch_end", 0)), (4, ("on_train_batch_end", 1))]
    assert rec_steps.calls == rec_loop.calls
    assert done.value.value.history == hist_loop.history


def test_closing_fit_steps_stops_without_the_end_hooks():
    rec = Recorder()
    model = FakeModel([])
    run_ = fit_steps(model, lambda b: ({"loss": 1.0}, 1), lambda e: range(3), 5,
                     callbacks=[rec], verbose=0)
    next(run_)
    run_.close()
    assert rec.calls[-1] == ("on_train_batch_end", 0)
    assert ("on_epoch_end", 0) not in rec.calls and ("on_train_end",) not in rec.calls


def test_early_stopping_restores_best_weights():
    model = FakeModel([1.0, 0.5, 0.6, 0.7, 0.8, 0.9])
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    hist = run(model, 6, [es])
    assert len(hist.history["loss"]) == 4 and es.stopped_epoch == 3
    assert es.best == 0.5 and es.best_epoch == 1
    assert model.w[0] == 6   # weights after epoch 1 (3 steps per epoch), not 12


def test_early_stopping_min_delta_and_max_mode():
    model = FakeModel([0.5, 0.505, 0.51, 0.6])
    es = EarlyStopping(monitor="val_loss", min_delta=0.01, patience=2, mode="max")
    hist = run(model, 4, [es])
    assert len(hist.history["loss"]) == 3   # 0.505 and 0.51 are not > 0.5 + 0.01
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")


def test_reduce_lr_on_plateau_and_scheduler():
    model = FakeModel([1.0, 1.0, 1.0, 1.0, 1.0])
    hist = run(model, 5, [ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.03)])
    # 0.1 → 0.05 → max(0.025, min_lr)
    assert [g["lr"] for g in model.optimizer.param_groups] == [0.03, 0.03]
    assert hist.history["learning_rate"] == [0.1, 0.1, 0.1, 0.05, 0.05]   # before reducing
    model = FakeModel([1.0] * 3)
    seen = []
    sched = LearningRateScheduler(lambda epoch, lr: lr * 0.1 if epoch else lr)
    run(model, 3, [sched, LambdaCallback(on_epoch_begin=lambda e, logs=None: seen.append(
        model.optimizer.param_groups[0]["lr"]))])
    assert seen == pytest.approx([0.1, 0.01, 0.001])
    with pytest.raises(ValueError, match="finite float"):
        run(FakeModel([1.0]), 1, [LearningRateScheduler(lambda e: float("nan"))])


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    run(FakeModel([0.3, 0.2]), 2, [CSVLogger(path)])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["val_loss"]) == 0.2 and set(rows[0]) == {"epoch", "loss", "acc",
                                                                  "val_loss"}


def test_progbar_text_line_without_tty():
    out = io.StringIO()
    run(FakeModel([0.3]), 1, [ProgbarLogger(1, stream=out)], verbose=1)
    text = out.getvalue()
    assert text.startswith("Epoch 1/1\n3/3 - ") and "ms/step - loss: 1.2222" in text
    assert "val_loss: 0.3000" in text


def test_stop_training_from_callback_and_predict_loop():
    class Stop(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    hist = run(FakeModel([1.0] * 5), 5, [Stop()])
    assert hist.epoch == [0, 1]
    assert predict_loop(None, lambda b: b * 2, [1, 2, 3]) == [2, 4, 6]
    with pytest.raises(TypeError, match="Callback instances"):
        run(FakeModel([1.0]), 1, [object()])


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progbar_redraws_with_eta_on_a_terminal_without_tqdm():
    out = _Tty()
    run(FakeModel([0.3, 0.2]), 2, [ProgbarLogger(1, stream=out, use_tqdm=False)], verbose=1)
    text = out.getvalue()
    assert "\r1/3 - ETA: " in text and "\r3/3 - " in text and "Epoch 2/2" in text
    assert "val_loss: 0.3000" in text and "val_loss: 0.2000" in text


def test_progbar_tqdm_bar_when_available():
    pytest.importorskip("tqdm")
    out = _Tty()
    run(FakeModel([0.3]), 1, [ProgbarLogger(1, stream=out, use_tqdm=True)], verbose=1)
    text = out.getvalue()
    assert "Epoch 1/1" in text and "3/3" in text and "val_loss: 0.3000" in text
