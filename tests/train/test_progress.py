"""The progress display fits the terminal: in-place lines never wider than it, the epoch's
metrics (validation included) never cut, validation progress shown, no blank lines."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import termios

import pytest

from chainrule.train import ProgbarLogger, evaluate_loop, fit_loop
from chainrule.train import progress as progress_module

WIDTHS = [0, 40, 80, 100, 200]


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Model:
    stop_training = False


def run(bar: ProgbarLogger, epochs: int = 2, steps: int = 25, val_steps: int = 7) -> None:
    model = _Model()

    def step(batch):
        return {"loss": 0.5 / (batch + 1), "accuracy": 0.75}, 32

    def validate(cbs):
        return evaluate_loop(model, lambda b: ({"loss": 0.125, "accuracy": 0.875}, 32),
                             range(val_steps), cbs)

    fit_loop(model, step, lambda epoch: range(steps), epochs, steps, [bar], 1, validate)


def screen_lines(text: str) -> list[str]:
    """Every stretch drawn between two carriage returns / newlines."""
    return re.split(r"[\r\n]", text)


@pytest.fixture(params=WIDTHS)
def width(request, monkeypatch) -> int:
    monkeypatch.setattr(progress_module.shutil, "get_terminal_size",
                        lambda *a: os.terminal_size((request.param, 24)))
    return request.param


@pytest.mark.parametrize("use_tqdm", [False, True])
def test_lines_fit_the_terminal_and_metrics_are_whole(width, use_tqdm) -> None:
    if use_tqdm:
        pytest.importorskip("tqdm")
    out = _Tty()
    run(ProgbarLogger(1, stream=out, use_tqdm=use_tqdm))
    text = out.getvalue()
    columns = width or 80  # a terminal reporting width 0 is taken as the usual 80
    assert max(len(line.rstrip()) for line in screen_lines(text)) < columns
    for metric in ("loss: 0.", "accuracy: 0.7500", "val_loss: 0.1250", "val_accuracy: 0.8750"):
        assert text.count(metric) >= 2, (metric, text)  # once per epoch, whole
    assert "\n\n" not in text and not any(line.isspace() for line in text.split("\n"))
    # metrics that do not fit are left out whole, never cut inside a name or a number
    assert text.count("accur") == text.count("accuracy: ") and text.count("los") == text.count(
        "loss: ")
    assert all(re.fullmatch(r"\d\.\d{4}", value) for value in
               re.findall(r"(?:loss|accuracy): ([^ \]\r\n]*)", text))
    assert "validating 7" in text and "validating 3/7" in text  # the total is known after one


def test_the_epoch_line_is_broken_between_metrics_only_when_too_wide(width) -> None:
    out = _Tty()
    run(ProgbarLogger(1, stream=out, use_tqdm=False), epochs=1)
    final = out.getvalue().rsplit("\r", 1)[1].rstrip("\n").split("\n")
    assert final[0].startswith("25/25 - ") and final[-1].endswith("val_accuracy: 0.8750")
    assert len(final) == (1 if width >= 100 else 2 if width in (0, 80) else 3)


def test_not_a_terminal_one_whole_line_per_epoch(width) -> None:
    out = io.StringIO()
    run(ProgbarLogger(1, stream=out))
    lines = out.getvalue().splitlines()
    assert [line for line in lines if line.startswith("Epoch")] == ["Epoch 1/2", "Epoch 2/2"]
    assert len(lines) == 4 and "\r" not in out.getvalue() and "validating" not in out.getvalue()
    assert lines[1].startswith("25/25 - ") and lines[1].endswith("val_accuracy: 0.8750")


def test_a_real_terminal_of_width_zero(monkeypatch) -> None:
    monkeypatch.setattr(progress_module.shutil, "get_terminal_size",
                        lambda *a: os.terminal_size((0, 0)))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 0, 0, 0, 0))
    with open(follower, "w", closefd=True) as tty:
        assert os.get_terminal_size(tty.fileno()).columns == 0
        assert progress_module.terminal_width(tty) == 80
    os.close(leader)


def test_fit_lines_breaks_between_items_only() -> None:
    items = ["25/25", "3s", "120ms/step", "loss: 0.1234", "val_accuracy: 0.8750"]
    assert progress_module.fit_lines(items, 200) == [" - ".join(items)]
    lines = progress_module.fit_lines(items, 30)
    assert all(len(line) < 30 for line in lines) and " - ".join(lines) == " - ".join(items)
    assert progress_module.fit_lines(["a" * 50], 10) == ["a" * 50]
