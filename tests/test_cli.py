"""The ``chainrule`` command: help, a 1-epoch worksheet run on a tiny slice, the loud fallback to
the shipped subset, and the playground's missing-dependency message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import cli

DATA = Path("/work/shared/data")


def test_help_lists_all_commands():
    out = subprocess.run([sys.executable, "-m", "chainrule.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "train" in out and "playground" in out
    train = subprocess.run([sys.executable, "-m", "chainrule.cli", "train", "--help"],
                           capture_output=True, text=True, check=True).stdout
    for flag in ("--epochs", "--batch-size", "--data-dir", "mnist-cnn"):
        assert flag in train


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "COMMAND" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["train", "resnet"])


@pytest.mark.skipif(not (DATA / "mnist").is_dir(), reason="real MNIST files absent")
def test_train_one_epoch_on_a_tiny_slice(capsys):
    assert cli.main(["train", "mnist-cnn", "--epochs", "1", "--limit", "48", "--data-dir",
                     str(DATA), "--verbose", "2", "--no-download"]) == 0
    out, err = capsys.readouterr()
    assert "Total params: 596,042" in out and "Epoch 1/1" in out and "val_accuracy" in out
    acc = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert 0.0 <= acc <= 1.0 and "FALLING BACK" not in err


def test_falls_back_loudly_to_the_shipped_subset(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.main(["train", "mnist-cnn", "--epochs", "1", "--limit", "40", "--no-download",
                     "--verbose", "0"]) == 0
    out, err = capsys.readouterr()
    assert "FALLING BACK" in err and "train-images-idx3-ubyte.gz" in err
    assert "pass --data-dir DIR" in err and "data_dir=" not in err
    assert "MNIST (shipped subset): 40 training images" in out
    assert re.search(r"test accuracy: [0-9.]+  \(on the shipped SUBSET\)", out)


def test_download_retries_come_before_the_fallback_warning(tmp_path):
    """Through a real pipe, as a user redirecting the output sees it."""
    offline = ("import sys, time\n"
               "from chainrule.datasets import mnist\n"
               "mnist.MIRRORS['mnist'] = ['http://127.0.0.1:9/']  # refused, as when offline\n"
               "time.sleep = lambda s: None\n"
               "from chainrule.cli import main\n"
               "sys.exit(main(sys.argv[1:]))\n")
    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_DATA"}
    out = subprocess.run([sys.executable, "-c", offline, "train", "mnist-cnn", "--epochs", "1",
                          "--limit", "40", "--verbose", "0"], capture_output=True, text=True,
                         env={**env, "HOME": str(tmp_path)}, timeout=300)
    assert out.returncode == 0, out.stderr
    err = out.stderr
    retries = [m.start() for m in re.finditer(r"failed \(attempt \d/3\)", err)]
    assert len(retries) == 3 and max(retries) < err.index("WARNING") < err.index("FALLING BACK")


@pytest.mark.parametrize("download", [False, True])
def test_an_explicit_data_dir_without_data_is_an_error(tmp_path, monkeypatch, capsys, download):
    from chainrule.datasets import mnist

    monkeypatch.setattr(mnist.time, "sleep", lambda s: None)
    monkeypatch.setitem(mnist.MIRRORS, "mnist", ["http://127.0.0.1:9/"])
    flags = [] if download else ["--no-download"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "mnist-cnn", "--data-dir", "/nonexistent", *flags])
    assert str(exit_.value.code) == "chainrule train: --data-dir /nonexistent: no such directory"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "mnist-cnn", "--data-dir", str(tmp_path), *flags])
    message = str(exit_.value.code)
    assert message.startswith(f"chainrule train: --data-dir {tmp_path} holds no MNIST data")
    assert f"\n  {tmp_path}\n" in message and "pass --data-dir DIR" in message
    assert ("could not be downloaded" in message) == download
    assert "FALLING BACK" not in capsys.readouterr().err


def test_playground_missing_gives_clear_message(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "chainrule.playground.server", None)
    assert cli.main(["playground", "--port", "0"]) == 1
    assert "pip install 'chainrule[playground]'" in capsys.readouterr().err


def test_playground_help_needs_no_extra():
    blocked = ("import sys\n"
               "for name in ('starlette', 'uvicorn', 'websockets'):\n"
               "    sys.modules[name] = None  # as if the playground extra were not installed\n"
               "from chainrule.cli import main\n"
               "sys.exit(main(['playground', '--help']))\n")
    out = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: chainrule playground") and "--port" in out.stdout
    assert "pip install 'chainrule[playground]'" in " ".join(out.stdout.split())


def test_version_and_option_defaults_in_help(capsys) -> None:
    import chainrule
    from chainrule.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("passes over the training set (default: 15)",
                  "examples per optimizer step (default: 32)", "(default: 0)"):
        assert shown in text


def test_optimizer_choices_are_the_keras_registry(tmp_path, monkeypatch, capsys) -> None:
    from chainrule.keras.optimizers import OPTIMIZERS

    with pytest.raises(SystemExit):
        cli.main(["train", "mnist-cnn", "--optimizer", "lbfgs"])
    assert f"choose from {', '.join(map(repr, OPTIMIZERS))}" in capsys.readouterr().err
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.main(["train", "mnist-cnn", "--epochs", "1", "--limit", "32", "--optimizer", "sgd",
                     "--no-download", "--verbose", "0"]) == 0
    assert re.search(r"test accuracy: [0-9.]+", capsys.readouterr().out)
