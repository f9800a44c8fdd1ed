"""The per-epoch progress display of the fit loop (Keras's ``ProgbarLogger``)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any

from chainrule.train.callbacks import Callback, Logs


def _items(logs: Logs) -> list[str]:
    return [f"{k}: {v:.4f}" for k, v in logs.items() if isinstance(v, (int, float))]


def _fmt_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def terminal_width(stream: Any) -> int:
    """Columns of the terminal ``stream`` writes to: its own size, else ``shutil``'s answer
    (``$COLUMNS``, then stdout's terminal); 80 where the terminal reports no width (0)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):  # no file descriptor, or not a terminal
        columns = 0
    if columns <= 0:
        columns = shutil.get_terminal_size().columns
    return columns if columns > 0 else 80


def fit_lines(items: list[str], width: int) -> list[str]:
    """``items`` joined by ``" - "`` into lines shorter than ``width``, broken only between
    items (an item longer than a line gets a line of its own), so no value is ever cut."""
    lines: list[str] = []
    for item in items:
        if lines and len(lines[-1]) + 3 + len(item) < width:
            lines[-1] += " - " + item
        else:
            lines.append(item)
    return lines


class ProgbarLogger(Callback):
    """Per-epoch progress: a tqdm bar with loss/metrics/ETA when tqdm is installed, else a
    Keras-style text line redrawn in place (``\\r``) on a terminal and printed once per epoch
    otherwise. ``verbose=2`` prints one line per epoch only.

    On a terminal every redrawn line fits its width (read at each redraw, so resizing works);
    the validation after each epoch shows its progress in place, and the epoch's final line —
    training and validation metrics — is broken between metrics onto as many lines as the
    width needs, never cut.

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
        self._in_fit = False

    def _out(self) -> Any:
        return self.stream if self.stream is not None else sys.stdout

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epochs = self.params.get("epochs", 1)
        self.steps = self.params.get("steps")
        self._val_steps: int | None = None  # learnt from the first validation
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
        self._in_fit = True
        self._drawn = 0  # length of the line now drawn in place
        self._val_count: int | None = None
        out = self._out()
        self._tty = hasattr(out, "isatty") and out.isatty()
        self._desc = f"Epoch {epoch + 1}/{self.epochs}"
        if self.verbose == 1 and self.use_tqdm:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.steps, desc=self._desc, unit="step", file=out,
                            leave=True, ncols=terminal_width(out) - 1)
        else:
            print(self._desc, file=out, flush=True)

    def _redraw(self, items: list[str]) -> None:
        """Draw the ``items`` that fit the terminal's width over the line now drawn."""
        width = terminal_width(self._out())
        text = fit_lines(items, width)[0][:width - 1]
        print("\r" + text.ljust(self._drawn), end="", file=self._out(), flush=True)
        self._drawn = len(text)

    def _refresh_bar(self, desc: str, items: list[str]) -> None:
        """Redraw the bar with as many whole ``items`` after it as leave it 10 columns."""
        width = self.bar.ncols = terminal_width(self._out()) - 1
        self.bar.set_description_str(desc, refresh=False)
        stats = dict(self.bar.format_dict, ncols=0, postfix=None)  # the line without bar
        room = width - len(self.bar.format_meter(**stats)) - 2 - 2 - 10  # "||", ", ", bar
        shown: list[str] = []
        for item in items:
            if len(" - ".join([*shown, item])) > room:
                break
            shown.append(item)
        self.bar.set_postfix_str(" - ".join(shown), refresh=True)

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.verbose != 1:
            return
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0 or batch + 1 == self.steps:
                self._refresh_bar(self._desc, _items(logs or {}))
        elif self._tty:
            elapsed = time.perf_counter() - self.start
            eta = elapsed / (batch + 1) * ((self.steps or batch + 1) - batch - 1)
            self._redraw([f"{batch + 1}/{self.steps}", f"ETA: {_fmt_time(eta)}",
                          *_items(logs or {})])

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._in_fit or self.verbose != 1 or not (self.bar is not None or self._tty):
            return
        self._val_count = batch + 1
        of = f"/{self._val_steps}" if self._val_steps else ""
        if self.bar is not None:
            self._refresh_bar(f"{self._desc} validating {batch + 1}{of}", [])
        else:
            steps = self.steps or 0
            self._redraw([f"{steps}/{steps}", f"validating {batch + 1}{of}"])

    def on_test_end(self, logs: Logs | None = None) -> None:
        if self._in_fit:
            self._val_steps = self._val_count

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._in_fit = False
        if self.verbose == 0:
            return
        elapsed = time.perf_counter() - self.start
        steps = self.steps or 1
        items = [f"{steps}/{steps}", _fmt_time(elapsed), f"{elapsed / steps * 1e3:.0f}ms/step",
                 *_items(logs or {})]
        out = self._out()
        if self.bar is not None:
            self._refresh_bar(self._desc, [])
            self.bar.close()
            items = items[3:]  # the bar shows steps and time
            if not items:
                return
        if not self._tty:
            print(" - ".join(items), file=out, flush=True)
            return
        lines = fit_lines(items, terminal_width(out))
        if self.bar is None:
            lines[0] = "\r" + lines[0].ljust(self._drawn)
        print("\n".join(lines), file=out, flush=True)
