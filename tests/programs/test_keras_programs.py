"""The Keras-gallery-style programs in this folder (mnist_convnet, text_and_numbers,
custom_train_step) run unchanged but for their imports and reach the accuracy Keras users
expect.

The MNIST programs train here on the first 6,000 training images (patched in from outside the
script) and are evaluated on the full 10,000-image test set; on all 60,000 the ConvNet reaches
about 98% and the custom-train-step MLP about 97% in their 3 epochs.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from chainrule.keras.datasets import mnist

HERE = Path(__file__).resolve().parent
DATA = Path("/work/shared/data")


def run(name, capsys):
    runpy.run_path(str(HERE / name), run_name="__main__")
    out = capsys.readouterr().out
    return float(re.search(r"Test accuracy: ([0-9.]+)", out).group(1)), out


@pytest.fixture
def mnist_subset(monkeypatch):
    if not (DATA / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("the MNIST files are not in /work/shared/data")
    (x, y), (xt, yt) = mnist.load_data(DATA)
    monkeypatch.setattr(mnist, "load_data", lambda path=None: ((x[:6000], y[:6000]), (xt, yt)))


def test_two_input_text_and_numbers(capsys):
    accuracy, out = run("text_and_numbers.py", capsys)
    assert accuracy >= 0.95
    assert "(Concatenate)" in out and "text[0][0]" in out


def test_subclassed_model_with_custom_train_step(mnist_subset, capsys):
    accuracy, out = run("custom_train_step.py", capsys)
    assert accuracy >= 0.9 and "Epoch 3/3" in out


@pytest.mark.slow
def test_functional_convnet_reaches_91_percent_in_3_epochs(mnist_subset, capsys):
    accuracy, out = run("mnist_convnet.py", capsys)
    assert accuracy >= 0.91 and 'Model: "mnist_convnet"' in out
