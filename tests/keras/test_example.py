"""examples/keras_mnist_cnn.py (the worksheet program) runs end to end — on a slice of the
shipped subset and 1 epoch instead of 15, patched in from outside the script."""

import runpy
from pathlib import Path

from chainrule.datasets import load_subset
from chainrule.keras.datasets import mnist
from chainrule.keras.models import Sequential

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "keras_mnist_cnn.py"


def test_worksheet_script_runs(monkeypatch, capsys):
    (x, y), (xt, yt) = load_subset()
    monkeypatch.setattr(mnist, "load_data", lambda path=None: ((x[:48], y[:48]),
                                                               (xt[:32], yt[:32])))
    calls = []
    fit = Sequential.fit

    def one_epoch(self, *args, **kwargs):
        calls.append(kwargs)
        return fit(self, *args, **{**kwargs, "epochs": 1, "verbose": 0})

    monkeypatch.setattr(Sequential, "fit", one_epoch)
    runpy.run_path(str(SCRIPT), run_name="__main__")
    out = capsys.readouterr().out
    assert calls == [{"epochs": 15, "batch_size": 32, "validation_split": 1 / 6}]
    assert "Total params: 596,042" in out and "Test accuracy:" in out
