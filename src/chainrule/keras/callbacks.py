"""Keras callbacks: re-exported from the framework-neutral ``chainrule.train``."""

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
from chainrule.train.progress import ProgbarLogger

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau"]

from chainrule.train.backup import BackupAndRestore  # noqa: E402
from chainrule.train.callbacks import TerminateOnNaN  # noqa: E402

__all__ += ["BackupAndRestore", "TerminateOnNaN"]
