"""MNIST with a 784-256-256-10 ReLU MLP and Adam (batch 128): ≥ 97.5 % test accuracy in 3
epochs on the real data.

Pixels are standardised with the training set's mean and std (``Standardize``) and the
learning rate follows a one-cycle schedule stepped every batch (warm-up to 2e-3, then
annealed), which takes the 3-epoch accuracy from ~97.5 % (constant 1e-3) to ~98 %.

    python examples/mnist_mlp.py [--data-dir DIR] [--epochs 3] [--no-download]

The IDX files are looked up by ``chainrule.datasets.load_mnist`` (``--data-dir``, then
``$CHAINRULE_DATA``, then ``~/.cache/chainrule``; downloaded if missing). Without
``--data-dir`` and with no data to be had (offline), it falls back, with a warning, to the
small subset shipped with chainrule, where the accuracy is far lower.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, Standardize, TensorDataset
from chainrule.datasets import DatasetNotFoundError, load_mnist_or_subset


def evaluate(model: nn.Module, x: cr.Tensor, y: cr.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    with cr.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item())
    model.train()
    return correct / len(x)


def main(data_dir: str | None = None, epochs: int = 3, seed: int = 0,
         download: bool = True) -> float:
    cr.manual_seed(seed)
    try:
        ((xtr, ytr), (xte, yte)), subset = load_mnist_or_subset(data_dir, download)
    except (NotADirectoryError, DatasetNotFoundError) as e:
        raise SystemExit(f"mnist_mlp.py: {e}") from None
    flat = lambda a: a.reshape(len(a), -1).astype(np.float32) / 255.0
    scale = Standardize(dim=(0, 1)).fit(flat(xtr))  # one mean and std over all pixels
    xtr, xte = cr.tensor(scale(flat(xtr))), cr.tensor(scale(flat(xte)))
    ytr, yte = cr.tensor(ytr.astype(np.int64)), cr.tensor(yte.astype(np.int64))
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=128, shuffle=True,
                        generator=cr.Generator(seed))
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, epochs=epochs,
                                          steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch + 1}  loss {total / len(loader):.4f}  test accuracy {acc:.4f}  "
              f"({seconds:.1f} s/epoch){'  (on the shipped SUBSET)' if subset else ''}")
    return acc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None,
                        help="directory holding the MNIST .gz files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-download", action="store_true", help="never download the data")
    args = parser.parse_args()
    main(args.data_dir, args.epochs, args.seed, not args.no_download)
