"""Callbacks for runs that fail: ``BackupAndRestore`` resumes an interrupted ``fit`` where its
last completed epoch ended; ``TerminateOnNaN`` stops one whose loss has diverged."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from chainrule.train.callbacks import Callback, Logs, _say
from chainrule.train.distributed import is_main


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's ``loss`` is NaN or infinite.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> model = keras.Sequential([keras.Input((1,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss=lambda y, p: (p - y).mean() * float("nan"))
        >>> history = model.fit(cr.ones(4, 1), cr.ones(4, 1), epochs=5, verbose=0,
        ...                     callbacks=[keras.callbacks.TerminateOnNaN()])
        Batch 0: Invalid loss, terminating training
        >>> len(history.history["loss"]) < 5
        True
    """

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            _say(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class BackupAndRestore(Callback):
    """Back up the whole training state each epoch; a rerun of the same ``fit`` after an
    interruption restores it and resumes from the epoch after the last backup.

    The backup holds the weights, the optimizer's state and the global RNG state (a Keras model
    writes a ``.keras`` archive, any other model a ``chainrule.save`` file), plus the epoch.
    Training that finishes deletes it (unless ``delete_checkpoint=False``).

    Args:
        backup_dir: the folder for the backup.
        save_freq: 'epoch' or an int: also back up every that many batches (a resume still
            starts at the beginning of the epoch after the last completed one).
        delete_checkpoint: delete the backup when training ends normally.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> import tempfile
        >>> backup = keras.callbacks.BackupAndRestore(tempfile.mkdtemp())
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=2, verbose=0,
        ...                     callbacks=[backup])
        >>> history.epoch
        [0, 1]
    """

    def __init__(self, backup_dir: str | os.PathLike[str], save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is required")
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"BackupAndRestore: save_freq must be 'epoch' or a positive int, "
                             f"got {save_freq!r}")
        if double_checkpoint:
            raise ValueError("BackupAndRestore: double_checkpoint is not supported")
        self.backup_dir, self.save_freq = os.fspath(backup_dir), save_freq
        self.delete_checkpoint = delete_checkpoint
        self._epoch, self._batches = 0, 0

    def _paths(self) -> tuple[str, str]:
        keras_model = hasattr(self.model, "_compile_loss")
        state = os.path.join(self.backup_dir, "latest.keras" if keras_model else "latest.ckpt")
        return state, os.path.join(self.backup_dir, "training_metadata.json")

    def on_train_begin(self, logs: Logs | None = None) -> None:
        state, meta = self._paths()
        if not (os.path.exists(state) and os.path.exists(meta)):
            return
        with open(meta) as f:
            info = json.load(f)
        _restore(self.model, state)
        self.model._initial_epoch = int(info["epoch"]) + 1

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._backup(self._epoch - 1)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._backup(epoch)

    def _backup(self, completed_epoch: int) -> None:
        if not is_main():   # distributed: every rank restores, rank 0 writes
            return
        state, meta = self._paths()
        os.makedirs(self.backup_dir, exist_ok=True)
        _backup(self.model, state)
        tmp = meta + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epoch": completed_epoch}, f)
        os.replace(tmp, meta)

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.delete_checkpoint and is_main():
            for path in self._paths():
                if os.path.exists(path):
                    os.remove(path)


def _backup(model: Any, path: str) -> None:
    if path.endswith(".keras"):
        model.save(path)
        return
    import chainrule as cr
    from chainrule.serialization import save
    opt = getattr(model, "optimizer", None)
    save({"model": model.state_dict(), "rng": cr.get_rng_state(),
          **({"optimizer": opt.state_dict()} if hasattr(opt, "state_dict") else {})}, path)


def _restore(model: Any, path: str) -> None:
    if path.endswith(".keras"):
        from chainrule.keras.saving import restore
        restore(model, path)
        return
    import chainrule as cr
    from chainrule.serialization import load
    state = load(path)
    model.load_state_dict(state["model"])
    if "optimizer" in state:
        model.optimizer.load_state_dict(state["optimizer"])
    cr.set_rng_state(state["rng"])
