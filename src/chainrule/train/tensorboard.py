"""The Keras ``TensorBoard`` callback: the fit loop's logs as TensorBoard scalars, written through
``chainrule.utils.tensorboard.SummaryWriter`` (the optional ``tensorboardX`` library)."""

from __future__ import annotations

import os
from typing import Any

from chainrule.train.callbacks import Callback, Logs


class TensorBoard(Callback):
    """Write the loss and metrics of each epoch for TensorBoard, as Keras's callback does.

    Training values go to ``<log_dir>/train`` as ``epoch_<name>`` (``epoch_loss``,
    ``epoch_accuracy``, ``epoch_learning_rate`` when the model has an optimizer); the ``val_*``
    values go to ``<log_dir>/validation`` without their prefix, so TensorBoard draws the two runs
    in one chart. Steps are epoch numbers.

    Args:
        log_dir: the directory holding the ``train`` and ``validation`` runs.
        histogram_freq: every this many epochs, a histogram of each weight
            (``<name>/histogram``) in the training run; 0 for none.
        write_graph: accepted for Keras compatibility; graphs need an example input, so write
            them with ``SummaryWriter.add_graph``.
        update_freq: ``"epoch"``, or ``"batch"`` / an int ``n`` to also write ``batch_<name>``
            every ``n`` training batches (steps count batches over the whole run).

    Example:
        >>> import tempfile
        >>> cb = TensorBoard(log_dir=tempfile.mkdtemp())
        >>> cb.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.7})
        >>> cb.on_train_end()
    """

    def __init__(self, log_dir: str = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 update_freq: str | int = "epoch") -> None:
        super().__init__()
        if histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be >= 0, got {histogram_freq}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError("TensorBoard: update_freq must be 'epoch', 'batch' or a positive "
                             f"int, got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._batches = 0

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            from chainrule.utils.tensorboard import SummaryWriter

            self._writers[run] = SummaryWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._batches = 0

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._batches += 1
        if self.update_freq == "epoch" or self._batches % self.update_freq:
            return
        for name, value in (logs or {}).items():
            self._writer("train").add_scalar(f"batch_{name}", value, self._batches)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = dict(logs or {})
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            lr = getattr(opt, "learning_rate", None)
            logs["learning_rate"] = lr if lr is not None else opt.param_groups[0]["lr"]
        for name, value in logs.items():
            run, key = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
            self._writer(run).add_scalar(f"epoch_{key}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0 and self.model is not None:
            for name, p in self.model.named_parameters():
                self._writer("train").add_histogram(f"{name}/histogram", p, epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}
