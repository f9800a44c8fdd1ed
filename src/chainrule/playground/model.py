"""The Playground's network, built from ``cr.nn`` and trained with ``cr.optim``.

A stack of ``Linear`` + activation layers (0–6 hidden, 1–8 neurons each) with one output: a
logit for classification (trained with ``binary_cross_entropy_with_logits`` on 0/1 targets) or a
linear value for regression (``mse_loss``). Regularisation acts on weights only, as in TF
Playground, and is applied after the optimizer step: L2 as decay ``w ← w − lr·rate·w``, L1 as the
proximal soft-threshold ``w ← sign(w)·max(|w| − lr·rate, 0)``, which sets small weights to exactly
zero (TF Playground's clip-at-zero). The activations and optimizers on offer are the library's
registries, ``cr.nn.ACTIVATIONS`` and ``cr.optim.OPTIMIZERS``; training runs
``cr.train.fit_steps`` (see ``Session.epoch_steps``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F

LOSSES = {"classification": F.binary_cross_entropy_with_logits, "regression": F.mse_loss}
"""The loss of each problem, on the logit (targets 0/1) or the value."""


class PlaygroundNet:
    """The network plus its optimizer; ``config`` is a validated session config (a dict)."""

    def __init__(self, n_inputs: int, config: dict[str, Any], seed: int) -> None:
        self.config = config
        sizes = [n_inputs, *config["layers"], 1]
        rng = np.random.default_rng(seed)
        modules: list[cr.nn.Module] = []
        self.linears: list[cr.nn.Linear] = []
        for i in range(len(sizes) - 1):
            lin = cr.nn.Linear(sizes[i], sizes[i + 1])
            # TF Playground's init: weights U(−0.5, 0.5), biases 0.1.
            lin.weight.array[...] = rng.uniform(-0.5, 0.5, lin.weight.shape)
            lin.bias.array[...] = 0.1
            self.linears.append(lin)
            modules.append(lin)
            if i < len(sizes) - 2:
                modules.append(cr.nn.ACTIVATIONS[config["activation"]]())
        self.model = cr.nn.Sequential(*modules)
        self.optimizer = self._make_optimizer()

    def _make_optimizer(self) -> cr.optim.Optimizer:
        c = self.config
        return cr.optim.OPTIMIZERS[c["optimizer"]](self.model.parameters(), lr=c["learning_rate"])

    def set_hyper(self, config: dict[str, Any]) -> None:
        """Take a new learning rate / regularisation / optimizer without resetting weights."""
        old = self.config["optimizer"]
        self.config = config
        if config["optimizer"] != old:
            self.optimizer = self._make_optimizer()
        for g in self.optimizer.param_groups:
            g["lr"] = config["learning_rate"]

    # ---- training ----------------------------------------------------------------------------
    def loss(self, out: cr.Tensor, y: np.ndarray) -> cr.Tensor:
        problem = self.config["problem"]
        target = (y[:, None] + 1) / 2 if problem == "classification" else y[:, None]
        return LOSSES[problem](out, cr.tensor(target))

    def train_step(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, float], int]:
        """One optimizer step on a batch ``(x, y)``: the step function of ``cr.train.fit_steps``,
        returning the batch loss and size."""
        x, y = batch
        self.optimizer.zero_grad()
        loss = self.loss(self.model(cr.tensor(x)), y)
        loss.backward()
        self.optimizer.step()
        return {"loss": float(loss.item())}, len(x)

    def regularize(self) -> None:
        """Shrink the weights after a step (L1 or L2, at learning rate × rate)."""
        kind, rate = self.config["regularization"], self.config["reg_rate"]
        if kind == "none" or rate == 0:
            return
        t = self.config["learning_rate"] * rate
        for lin in self.linears:
            w = lin.weight.array
            if kind == "l2":
                w -= t * w
            else:
                np.copyto(w, np.sign(w) * np.maximum(np.abs(w) - t, 0.0))

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float:
        with cr.no_grad():
            return float(self.loss(self.model(cr.tensor(x)), y).item())

    def zero_weights(self) -> int:
        return int(sum((lin.weight.array == 0).sum() for lin in self.linears))

    # ---- pictures ----------------------------------------------------------------------------
    def activations(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's outputs on ``x``: hidden layers after activation, then the output in
        [−1, 1] (2·sigmoid − 1 for classification, the raw value for regression)."""
        outs = []
        with cr.no_grad():
            h = cr.tensor(x)
            mods = list(self.model)
            for m in mods[:-1]:
                h = m(h)
                if not isinstance(m, cr.nn.Linear):
                    outs.append(h.array)
            out = mods[-1](h).array[:, 0]
        if self.config["problem"] == "classification":
            out = 2.0 / (1.0 + np.exp(-out)) - 1.0
        outs.append(out[:, None])
        return outs

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.activations(x)[-1][:, 0]

    def weights(self) -> list[list[list[float]]]:
        """Per layer, the weight matrix as (in, out) nested lists, rounded for the wire."""
        return [np.round(lin.weight.array.T.astype(np.float64), 5).tolist()
                for lin in self.linears]

    def biases(self) -> list[list[float]]:
        return [np.round(lin.bias.array.astype(np.float64), 5).tolist() for lin in self.linears]

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()
