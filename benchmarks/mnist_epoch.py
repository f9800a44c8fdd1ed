"""One epoch of the lecture worksheet's CNN on the real MNIST: chainrule through its Keras API
(the worksheet program itself), PyTorch through an equivalent plain training loop.

Both train on the same 50,000 images (Keras's ``validation_split=1/6`` holds out the last
10,000), batch 32, Adam; the figure is wall time per epoch.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("CHAINRULE_DATA", Path(__file__).resolve().parents[2] / "shared" /
                           "data"))


def _data(fraction: float) -> tuple[np.ndarray, np.ndarray]:
    from chainrule.datasets import load_mnist

    (x, y), _ = load_mnist(DATA / "mnist", download=False)
    n = int(50_000 * fraction)
    return (x[:n].astype(np.float32) / 255.0), y[:n].astype(np.int64)


def chainrule_epoch(fraction: float = 1.0) -> float:
    """Seconds for one epoch of the worksheet model through ``chainrule.keras``."""
    from chainrule.cli import worksheet_model
    from chainrule.keras.optimizers import Adam
    from chainrule.keras.utils import to_categorical

    x, y = _data(fraction)
    model = worksheet_model()
    model.compile(optimizer=Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x.reshape(-1, 28, 28, 1), to_categorical(y, 10), epochs=1, batch_size=32,
              verbose=0)
    return time.perf_counter() - start


def torch_epoch(fraction: float = 1.0) -> float:
    """Seconds for one epoch of the same model in a plain PyTorch loop."""
    import torch
    from torch import nn

    x, y = _data(fraction)
    xt, yt = torch.from_numpy(x.reshape(-1, 1, 28, 28)), torch.from_numpy(y)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout(0.25), nn.Flatten(), nn.Linear(4608, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), eps=1e-7)
    start = time.perf_counter()
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), 32):
        idx = perm[i:i + 32]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
        loss.backward()
        opt.step()
    return time.perf_counter() - start
