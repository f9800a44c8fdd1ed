"""The framework-neutral fit loop and Keras-style callbacks (``History``, ``EarlyStopping``,
``ModelCheckpoint``, ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger``, progress
bar)."""

from chainrule.train.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from chainrule.train.loop import evaluate_loop, fit_loop, fit_steps, predict_loop
from chainrule.train.progress import ProgbarLogger
from chainrule.train.trainer import fit

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau", "evaluate_loop", "fit", "fit_loop", "fit_steps",
           "predict_loop"]

from chainrule.train.resilience import BackupAndRestore, TerminateOnNaN  # noqa: E402

__all__ += ["BackupAndRestore", "TerminateOnNaN"]
