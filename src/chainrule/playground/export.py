"""Export a Playground network as a runnable, self-contained chainrule script."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from chainrule.playground.datasets import FEATURE_SOURCE

if TYPE_CHECKING:
    from chainrule.playground.session import Session

_TEMPLATE = '''"""A network trained in the chainrule Playground, as a runnable script.

    python {filename}                 # rebuild the trained network, report its losses
    python {filename} --epochs 100    # ...and keep training with the same settings
    python {filename} --checkpoint playground.safetensors   # load exported weights instead
"""

import argparse

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

CONFIG = {config}
ACTIVATION = {activation}
STATE = {state}
TRAIN = np.array({train}, dtype=np.float32)  # x1, x2, label
TEST = np.array({test}, dtype=np.float32)


def features(points):
    x, y = points[:, 0], points[:, 1]
    return np.stack([{features}], axis=1).astype(np.float32)


def build():
    sizes = [len(CONFIG["features"]), *CONFIG["layers"], 1]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(cr.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(ACTIVATION())
    return cr.nn.Sequential(*layers)


def loss_fn(out, labels):
    if CONFIG["problem"] == "classification":
        return F.binary_cross_entropy_with_logits(out, cr.tensor((labels[:, None] + 1) / 2))
    return F.mse_loss(out, cr.tensor(labels[:, None]))


def evaluate(model, data):
    with cr.no_grad():
        return loss_fn(model(cr.tensor(features(data[:, :2]))), data[:, 2]).item()


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
    lr = CONFIG["learning_rate"]
    if CONFIG["optimizer"] == "adam":
        opt = cr.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = cr.optim.SGD(model.parameters(), lr=lr,
                           momentum=0.9 if CONFIG["optimizer"] == "momentum" else 0.0)
    weights = [m.weight for m in model if isinstance(m, cr.nn.Linear)]
    rng = np.random.default_rng(0)
    for epoch in range(args.epochs):
        for idx in np.array_split(rng.permutation(len(TRAIN)),
                                  max(1, -(-len(TRAIN) // CONFIG["batch_size"]))):
            opt.zero_grad()
            loss_fn(model(cr.tensor(features(TRAIN[idx, :2]))), TRAIN[idx, 2]).backward()
            opt.step()
            t = lr * CONFIG["reg_rate"]
            for w in weights:  # regularisation on weights, as in the Playground
                if CONFIG["regularization"] == "l2":
                    w.array -= t * w.array
                elif CONFIG["regularization"] == "l1":
                    w.array[...] = np.sign(w.array) * np.maximum(np.abs(w.array) - t, 0.0)
    print(f"train loss {{evaluate(model, TRAIN):.6f}}")
    print(f"test loss {{evaluate(model, TEST):.6f}}")


if __name__ == "__main__":
    main()
'''

_ACTIVATION_SOURCE = {"relu": "cr.nn.ReLU", "tanh": "cr.nn.Tanh", "sigmoid": "cr.nn.Sigmoid",
                      "linear": "cr.nn.Identity"}


def _rows(x: np.ndarray, y: np.ndarray) -> str:
    return json.dumps(np.column_stack([x, y]).astype(np.float64).tolist())


def script(session: Session) -> str:
    """Python source that rebuilds ``session``'s trained network and data and reports its losses."""
    c = session.config
    state = {k: v.array.astype(np.float64).tolist() for k, v in session.net.state_dict().items()}
    return _TEMPLATE.format(
        filename="playground_model.py",
        config=json.dumps(c),
        activation=_ACTIVATION_SOURCE[c["activation"]],
        state=json.dumps(state),
        train=_rows(session.xtr, session.ytr),
        test=_rows(session.xte, session.yte),
        features=", ".join(FEATURE_SOURCE[f] for f in c["features"]),
    )
