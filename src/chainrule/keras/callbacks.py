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
from chainrule.train.tensorboard import TensorBoard  # noqa: F401  (Keras's callback)

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger",
           "ReduceLROnPlateau"]

from chainrule.train.resilience import BackupAndRestore, TerminateOnNaN  # noqa: E402

__all__ += ["BackupAndRestore", "TerminateOnNaN"]
