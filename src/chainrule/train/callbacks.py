"""Keras-style callbacks for the fit loop in ``chainrule.train.loop``.

A callback sees the model through ``self.model`` and the run's settings through ``self.params``
(``epochs``, ``steps``, ``verbose``). Hooks receive a ``logs`` dict of floats: running means of
the loss and metrics during an epoch, and at epoch end also ``val_*`` entries.

The model needs ``stop_training`` (a bool the loop checks after each epoch), and, for the
callbacks that touch them, ``state_dict``/``load_state_dict`` (weights) and ``optimizer``
(learning rate, see :func:`get_lr`).
"""

from __future__ import annotations

import csv
import inspect
import math
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.train.distributed import is_main
from chainrule.train.state import get_lr, get_weights, save_state, set_lr, set_weights

Logs = dict[str, float]


def _say(*args: Any, **kwargs: Any) -> None:
    """``print`` on rank 0 only (everywhere when not distributed)."""
    if is_main():
        print(*args, **kwargs)


class Callback:
    """Base class: every hook is a no-op. Override the ones you need.

    A callback whose ``main_process_only`` is True (those that write files) runs on rank 0
    only when training is distributed.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> class CountEpochs(keras.callbacks.Callback):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.epochs = 0
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         self.epochs += 1
        >>> counter = CountEpochs()
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=3, verbose=0, callbacks=[counter])
        >>> counter.epochs
        3
    """

    main_process_only = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: pass
    def on_train_end(self, logs: Logs | None = None) -> None: pass
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: pass
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: pass
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: pass
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: pass
    def on_test_begin(self, logs: Logs | None = None) -> None: pass
    def on_test_end(self, logs: Logs | None = None) -> None: pass
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: pass
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: pass
    def on_predict_begin(self, logs: Logs | None = None) -> None: pass
    def on_predict_end(self, logs: Logs | None = None) -> None: pass
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: pass
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: pass


class CallbackList(Callback):
    """Forwards every hook to each callback in order.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> seen = []
        >>> note = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))
        >>> cbs = keras.callbacks.CallbackList([note])
        >>> cbs.on_epoch_end(0, {"loss": 1.0})
        >>> seen
        [0]
    """

    def __init__(self, callbacks: Iterable[Callback] = (), model: Any = None,
                 **params: Any) -> None:
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {cb!r}")
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):
            return lambda *args: self._call(name, *args)
        return super().__getattribute__(name)


class History(Callback):
    """Records the epoch-end logs: ``history.history['loss']`` is a list with one float per epoch.

    ``model.fit`` returns its History; ``history.epoch`` lists the epoch indices run.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=2, verbose=0)
        >>> isinstance(history, keras.callbacks.History), history.epoch, list(history.history)
        (True, [0, 1], ['loss'])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class _Monitor:
    """Shared 'is this value an improvement?' logic of EarlyStopping, ModelCheckpoint, ..."""

    def _init_monitor(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            bare = monitor.removeprefix("val_")
            mode = "max" if ("acc" in bare or bare.startswith("fmeasure") or bare == "auc") \
                else "min"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def _improved(self, value: float, reference: float | None = None) -> bool:
        ref = self.best if reference is None else reference
        if self.mode == "min":
            return value < ref - self.min_delta
        return value > ref + self.min_delta

    def _value(self, logs: Logs | None, who: str) -> float | None:
        v = (logs or {}).get(self.monitor)
        if v is None:
            _say(f"{who}: monitored metric {self.monitor!r} is not available; available: "
                  f"{sorted(logs or {})}", file=sys.stderr)
        return v


class EarlyStopping(Callback, _Monitor):
    """Stop training when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a log key, e.g. 'val_loss' or 'val_accuracy'.
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: 'min', 'max' or 'auto' (max for accuracy-like names).
        baseline: stop unless the value beats this within ``patience`` epochs.
        restore_best_weights: load the weights of the best epoch when stopping (and at the end
            of training).
        start_from_epoch: epochs to wait before monitoring at all.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
        >>> stop = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
        >>> history = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=10, verbose=0,
        ...                     callbacks=[stop])
        >>> len(history.history["loss"])
        2
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        self._init_monitor(monitor, mode, min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = self._value(logs, "EarlyStopping")
        if value is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = get_weights(self.model)
        self.wait += 1
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = get_weights(self.model)
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            _say(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                _say(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            set_weights(self.model, self.best_weights)


class ModelCheckpoint(Callback, _Monitor):
    """Save the model (or its weights) after each epoch, optionally only when ``monitor``
    improves.

    Args:
        filepath: a path, may hold format fields: ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'``
            (``epoch`` counts from 1, as in Keras).
        save_best_only: save only when the monitored value improves.
        save_weights_only: save ``model.state_dict()``; otherwise ``model.save(path)`` when the
            model has it, else the state dict as well.
        save_freq: 'epoch', or an int: save every that many batches (counted across epochs;
            the path may then also use ``{batch}``, counting from 1 in the epoch).

    Files are written atomically by ``chainrule.save`` (temp file + rename); when training is
    distributed only rank 0 writes them (every rank holds the same weights).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "best.weights.h5")
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> ckpt = keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
        ...                                        save_weights_only=True)
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=2, verbose=0, callbacks=[ckpt])
        >>> os.path.exists(path)
        True
    """

    main_process_only = True

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: str = "epoch",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, "
                             f"got {save_freq!r}")
        self.save_freq = save_freq
        self._batches_seen = self._epoch = 0
        self._init_monitor(monitor, mode, 0.0)
        if initial_value_threshold is not None:
            self.best = initial_value_threshold
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._epoch, logs, batch=batch + 1)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch: int, logs: Logs | None, **fields: int) -> None:
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **fields, **logs)
        if self.save_best_only:
            value = self._value(logs, "ModelCheckpoint")
            if value is None or not self._improved(value):
                return
            if self.verbose:
                _say(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{value:.5f}, saving model to {path}")
            self.best = value
        elif self.verbose:
            _say(f"\nEpoch {epoch + 1}: saving model to {path}")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not self.save_weights_only and hasattr(self.model, "save"):
            self.model.save(path)
        elif hasattr(self.model, "save_weights"):   # a Keras model: .weights.h5 by its name
            self.model.save_weights(path)
        else:
            save_state(self.model.state_dict(), path)


class ReduceLROnPlateau(Callback, _Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` stalls for ``patience`` epochs.

    Keras's defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
        >>> cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
        ...                                        min_lr=0.0)
        >>> model.optimizer.learning_rate = 1e-9
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=4, verbose=0, callbacks=[cb])
        >>> model.optimizer.learning_rate < 1e-9
        True
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = self.cooldown_counter = 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = get_lr(self.model)
        value = self._value(logs, "ReduceLROnPlateau")
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = get_lr(self.model)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    set_lr(self.model, new)
                    if self.verbose:
                        _say(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch's start to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)`` for a one-argument function).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
        >>> halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2)
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=3, verbose=0, callbacks=[halve])
        >>> model.optimizer.learning_rate
        0.125
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose
        try:
            params = inspect.signature(schedule).parameters.values()
            self._two_args = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                                 for p in params) >= 2 or any(p.kind == p.VAR_POSITIONAL
                                                              for p in params)
        except (TypeError, ValueError):   # builtins without a signature
            self._two_args = True

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        lr = get_lr(self.model)
        new = self.schedule(epoch, lr) if self._two_args else self.schedule(epoch)
        if not isinstance(new, (int, float, np.floating)) or not math.isfinite(new):
            raise ValueError(f"LearningRateScheduler: schedule must return a finite float, "
                             f"got {new!r}")
        set_lr(self.model, float(new))
        if self.verbose:
            _say(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = get_lr(self.model)


class CSVLogger(Callback):
    """Append one CSV row of epoch-end logs per epoch to ``filename`` (header ``epoch,...``);
    written by rank 0 only when training is distributed.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=2, verbose=0,
        ...               callbacks=[keras.callbacks.CSVLogger(path)])
        >>> open(path).read().splitlines()[0]
        'epoch,loss'
    """

    main_process_only = True

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        exists = self.append and os.path.exists(self.filename) and \
            os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer: Any = None
        self._header = not exists
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, ["epoch", *self.keys],
                                          delimiter=self.sep, extrasaction="ignore")
            if self._header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self._file.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._file.close()


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> ends = []
        >>> log = keras.callbacks.LambdaCallback(
        ...     on_epoch_end=lambda epoch, logs: ends.append(epoch))
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=3, verbose=0, callbacks=[log])
        >>> ends
        [0, 1, 2]
    """

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)
