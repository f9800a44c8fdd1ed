"""train.fit on a plain cr.nn module with a DataLoader, cr.optim and the shared callbacks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, TensorDataset
from chainrule.datasets import make_moons
from chainrule.train import Callback, EarlyStopping, ReduceLROnPlateau, fit


def accuracy(out, y):
    return float((out.array.argmax(1) == y.array).mean())


def test_fit_plain_module_on_moons():
    cr.manual_seed(0)
    x, y = make_moons(200, noise=0.1)
    data = TensorDataset(cr.from_numpy(x), cr.from_numpy(y))
    net = cr.nn.Sequential(cr.nn.Linear(2, 16), cr.nn.Tanh(), cr.nn.Linear(16, 2))
    opt = cr.optim.Adam(net.parameters(), lr=0.05)
    hist = fit(net, cr.nn.functional.cross_entropy, opt, DataLoader(data, 32, shuffle=True),
               epochs=15, val_data=DataLoader(data, 100), metrics={"acc": accuracy}, verbose=0,
               callbacks=[ReduceLROnPlateau(monitor="loss", patience=100)])
    h = hist.history
    assert h["loss"][-1] < 0.3 * h["loss"][0] and h["val_acc"][-1] > 0.95
    assert set(h) == {"loss", "acc", "val_loss", "val_acc", "learning_rate"}
    assert not net.training


def test_early_stopping_restores_module_weights():
    x = cr.randn(32, 2)
    y = x.sum(1, keepdim=True)
    net = cr.nn.Linear(2, 1)
    opt = cr.optim.SGD(net.parameters(), lr=5.0)   # diverges: val loss rises after epoch 0
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    data = DataLoader(TensorDataset(x, y), 32)
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(net.weight.array.copy())

    hist = fit(net, cr.nn.functional.mse_loss, opt, data, epochs=20, val_data=data,
               callbacks=[Snap(), es], verbose=0)
    assert len(hist.history["loss"]) < 20
    best = int(np.argmin(hist.history["val_loss"]))
    assert np.array_equal(net.weight.array, snapshots[best])
    with pytest.raises(ValueError, match="epochs"):
        fit(net, cr.nn.functional.mse_loss, opt, data, epochs=-1, verbose=0)
