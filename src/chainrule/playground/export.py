"""Export a Playground network as a runnable chainrule script: the code a user would write with
the public API (``cr.nn``, ``cr.optim``, ``DataLoader``, ``cr.train.fit``), the trained weights
and the data inline."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from chainrule.nn import ACTIVATIONS
from chainrule.optim import OPTIMIZERS
from chainrule.playground.datasets import FEATURE_SOURCE
from chainrule.playground.model import LOSSES

_TEMPLATE = '''"""A network trained in the chainrule Playground, as a runnable script.

    python {filename}                 # rebuild the trained network, report its losses
    python {filename} --epochs 100    # ...and keep training with the same settings
    python {filename} --checkpoint playground.safetensors   # load exported weights instead
"""

import argparse

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.data import DataLoader, TensorDataset
from chainrule.train import LambdaCallback, fit

CONFIG = {config}
STATE = {state}
TRAIN = np.array({train}, dtype=np.float32)  # x1, x2, label
TEST = np.array({test}, dtype=np.float32)


def features(points):
    x, y = points[:, 0], points[:, 1]
    return np.stack([{features}], axis=1).astype(np.float32)


def dataset(rows):
    """The rows' features and targets (labels -1/+1 as 0/1 for classification)."""
    targets = rows[:, 2:]
    if CONFIG["problem"] == "classification":
        targets = (targets + 1) / 2
    return TensorDataset(cr.tensor(features(rows[:, :2])), cr.tensor(targets))


def build():
    sizes = [len(CONFIG["features"]), *CONFIG["layers"], 1]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(cr.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append({activation}())
    return cr.nn.Sequential(*layers)


def regularize(model):
    """The Playground's regularisation of the weights after each step: L2 decay, or L1's
    soft threshold, which sets small weights to exactly zero."""
    t = CONFIG["learning_rate"] * CONFIG["reg_rate"]
    with cr.no_grad():
        for w in (m.weight for m in model if isinstance(m, cr.nn.Linear)):
            if CONFIG["regularization"] == "l2":
                w -= t * w
            elif CONFIG["regularization"] == "l1":
                w.copy_(w.sign() * (w.abs() - t).clamp(min=0))


def evaluate(model, rows):
    x, y = dataset(rows).tensors
    with cr.no_grad():
        return {loss}(model(x), y).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args()
    model = build()
    if args.checkpoint:
        model.load_state_dict(cr.load(args.checkpoint))
    else:
        model.load_state_dict({{k: cr.tensor(np.array(v, dtype=np.float32))
                               for k, v in STATE.items()}})
    optimizer = {optimizer}(model.parameters(), lr=CONFIG["learning_rate"])
    loader = DataLoader(dataset(TRAIN), batch_size=CONFIG["batch_size"], shuffle=True)
    fit(model, {loss}, optimizer, loader, epochs=args.epochs, verbose=0,
        callbacks=[LambdaCallback(on_train_batch_end=lambda batch, logs: regularize(model))])
    print(f"train loss {{evaluate(model, TRAIN):.6f}}")
    print(f"test loss {{evaluate(model, TEST):.6f}}")


if __name__ == "__main__":
    main()
'''


def _rows(x: np.ndarray, y: np.ndarray) -> str:
    return json.dumps(np.column_stack([x, y]).astype(np.float64).tolist())


def script(config: dict[str, Any], state_dict: dict[str, Any],
           train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> str:
    """Python source that rebuilds a trained network (its session ``config`` and
    ``state_dict``) and its ``(points, labels)`` train and test data, and reports its losses."""
    c = config
    state = {k: v.array.astype(np.float64).tolist() for k, v in state_dict.items()}
    return _TEMPLATE.format(
        filename="playground_model.py",
        config=json.dumps(c),
        activation=f"cr.nn.{ACTIVATIONS[c['activation']].__name__}",
        optimizer=f"cr.optim.{OPTIMIZERS[c['optimizer']].__name__}",
        loss=f"F.{LOSSES[c['problem']].__name__}",
        state=json.dumps(state),
        train=_rows(*train),
        test=_rows(*test),
        features=", ".join(FEATURE_SOURCE[f] for f in c["features"]),
    )
