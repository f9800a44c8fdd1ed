"""The per-epoch progress display of the fit loop (Keras's ``ProgbarLogger``)."""

from __future__ import annotations

import sys
import time
from typing import Any

from chainrule.train.callbacks import Callback, Logs


def _fmt(logs: Logs) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float)))


def _fmt_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


class ProgbarLogger(Callback):
    """Per-epoch progress: a tqdm bar with loss/metrics/ETA when tqdm is installed, else a
    Keras-style text line redrawn in place (``\\r``) on a terminal and printed once per epoch
    otherwise. ``verbose=2`` prints one line per epoch only.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import keras
        >>> from chainrule.keras import layers
        >>> import io
        >>> stream = io.StringIO()
        >>> model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> bar = keras.callbacks.ProgbarLogger(stream=stream, use_tqdm=False)
        >>> _ = model.fit(cr.ones(4, 2), cr.ones(4, 1), epochs=1, verbose=0, callbacks=[bar])
        >>> "Epoch 1/1" in stream.getvalue()
        True
    """

    def __init__(self, verbose: int = 1, stream: Any = None, use_tqdm: bool | None = None) -> None:
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self.use_tqdm = use_tqdm

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stdout

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epochs = self.params.get("epochs", 1)
        self.steps = self.params.get("steps")
        if self.use_tqdm is None:  # a bar only on a terminal; log files get one line per epoch
            out = self._out()
            try:
                import tqdm  # noqa: F401
                self.use_tqdm = hasattr(out, "isatty") and out.isatty()
            except ImportError:
                self.use_tqdm = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self.start = time.perf_counter()
        self.bar: Any = None
        out = self._out()
        if self.verbose == 1 and self.use_tqdm:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.steps, desc=f"Epoch {epoch + 1}/{self.epochs}",
                            unit="step", file=out, leave=True, dynamic_ncols=True)
        else:
            print(f"Epoch {epoch + 1}/{self.epochs}", file=out, flush=True)
        self._tty = hasattr(out, "isatty") and out.isatty()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.verbose != 1:
            return
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 or batch + 1 == self.steps:
                self.bar.set_postfix_str(_fmt(logs or {}), refresh=True)
        elif self._tty:
            elapsed = time.perf_counter() - self.start
            eta = elapsed / (batch + 1) * ((self.steps or batch + 1) - batch - 1)
            print(f"\r{batch + 1}/{self.steps} - ETA: {_fmt_time(eta)} - {_fmt(logs or {})}",
                  end="", file=self._out(), flush=True)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.verbose == 0:
            return
        elapsed = time.perf_counter() - self.start
        steps = self.steps or 1
        line = (f"{steps}/{steps} - {_fmt_time(elapsed)} - {elapsed / steps * 1e3:.0f}ms/step"
                f" - {_fmt(logs or {})}")
        if self.bar is not None:
            self.bar.set_postfix_str(_fmt(logs or {}), refresh=True)
            self.bar.close()
        else:
            print(("\r" if self._tty else "") + line, file=self._out(), flush=True)
