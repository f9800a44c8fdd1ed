"""``compile``'s ``loss``, ``loss_weights`` and ``metrics`` resolved against a model's outputs.

One loss (a name or a callable) serves a one-output model, or every output of a multi-output
model; a list gives one per output in order, a dict one per output name. Logs are named as in
Keras: ``loss`` (the weighted total), ``<output>_loss`` for each output of a multi-output
model, metrics as ``<metric>`` or, with several outputs, ``<output>_<metric>``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras import losses, metrics
from chainrule.keras._data import _probs
from chainrule.tensor import Tensor


def per_output(value: Any, names: Sequence[str], what: str) -> list[Any]:
    """``value`` as one entry per output: a dict by name, a list in order, else one for all."""
    n = len(names)
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"{what}: keys {sorted(unknown)} do not name an output; the "
                             f"model's outputs are {list(names)}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise ValueError(f"{what}: expected one entry per output ({n}: {list(names)}), got "
                             f"{len(value)}")
        return list(value)
    return [value] * n


class CompileLoss:
    """The training loss: a weighted sum over outputs of (sample-weighted) batch means."""

    def __init__(self, loss: Any, loss_weights: Any = None) -> None:
        self.loss, self.loss_weights = loss, loss_weights
        self.names: list[str] = []

    def build(self, output_names: Sequence[str]) -> None:
        self.names = list(output_names)
        fns = per_output(self.loss, self.names, "loss")
        self.fns = [None if f is None else losses.get(f) for f in fns]
        weights = per_output(self.loss_weights, self.names, "loss_weights")
        self.weights = [1.0 if w is None else float(w) for w in weights]
        if all(f is None for f in self.fns):
            raise ValueError(f"compile: no loss for any of the outputs {self.names}")

    def __call__(self, y_true: list[Any], outputs: list[Tensor], activations: list[str | None],
                 sample_weight: list[Any]) -> tuple[Tensor, list[Tensor | None]]:
        total: Tensor | None = None
        parts: list[Tensor | None] = []
        for fn, w, y, z, act, sw in zip(self.fns, self.weights, y_true, outputs, activations,
                                        sample_weight):
            if fn is None:
                parts.append(None)
                continue
            if y is None:
                raise ValueError(f"the model has a loss for output '{self.names[len(parts)]}' "
                                 f"but no target for it was given")
            y = _target(y, fn, z)
            value = self._value(fn, y, z, act, sw)
            parts.append(value)
            total = value * w if total is None else total + value * w
        assert total is not None
        return total, parts

    @staticmethod
    def _value(fn: Any, y: Tensor, z: Tensor, act: str | None, sw: Any) -> Tensor:
        if isinstance(fn, losses.Loss):
            return losses.of_output(fn, y, z, act, None if sw is None else
                                    np.asarray(sw, np.float32).reshape(-1))
        values = losses.sample_values(fn, y, z, act)  # a function gives per-sample values
        if sw is not None:
            values = values * cr.from_numpy(np.asarray(sw, np.float32).reshape(-1))
        return values.mean()

    def log_names(self) -> list[str]:
        if len(self.names) == 1:
            return []
        return [f"{n}_loss" for n, f in zip(self.names, self.fns) if f is not None]


def _target(y: Any, fn: Any, z: Tensor) -> Tensor:
    y = y if isinstance(y, Tensor) else cr.from_numpy(np.asarray(y))
    if fn is not losses.sparse_categorical_crossentropy and y.dtype.kind != "f":
        y = y.to(z.dtype)
    return y


class CompileMetrics(metrics.Metric):
    """The compiled metrics of every output; ``result()`` is a dict of log name → value."""

    def __init__(self, metrics_arg: Any) -> None:
        self.metrics_arg = metrics_arg
        self.entries: list[list[metrics.Metric]] = []
        super().__init__("compile_metrics")

    def build(self, output_names: Sequence[str], loss: CompileLoss,
              output_shapes: Sequence[tuple[Any, ...]]) -> None:
        arg, n = self.metrics_arg, len(output_names)
        if n == 1 or arg is None:
            per = [arg] * n
        elif isinstance(arg, dict) or (isinstance(arg, (list, tuple)) and len(arg) == n):
            per = per_output(arg, output_names, "metrics")
        else:   # as Keras 3: one entry per output, or a dict by output name
            raise ValueError(f"Invalid `metrics` for a model with {n} outputs "
                             f"{list(output_names)}: pass a dict keyed by output name or a "
                             f"list with one entry (a metric or a list) per output; got {arg!r}")
        self.entries = []
        for i, (name, ms) in enumerate(zip(output_names, per)):
            if ms is None:
                self.entries.append([])
                continue
            ms = ms if isinstance(ms, (list, tuple)) else [ms]
            loss_name = losses.name_of(loss.fns[i]) if loss.fns[i] is not None else ""
            entry = []
            for m in ms:
                if isinstance(m, metrics.Metric):
                    metric = copy.copy(m) if len(output_names) > 1 else m
                else:
                    log, fn = metrics.resolve(m, loss_name, output_shapes[i])
                    metric = metrics.MeanMetricWrapper(fn, log)
                if len(output_names) > 1:
                    metric.name = f"{name}_{metric.name}"
                entry.append(metric)
            self.entries.append(entry)

    def reset_state(self) -> None:
        for entry in getattr(self, "entries", []):
            for m in entry:
                m.reset_state()

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        from chainrule.keras.symbolic import flatten
        ys = y_true if isinstance(y_true, list) else flatten(y_true)
        ps = y_pred if isinstance(y_pred, list) else flatten(y_pred)
        for entry, y, p in zip(self.entries, ys, ps):
            for m in entry:
                m.update_state(y, p)

    def result(self) -> dict[str, float]:  # type: ignore[override]
        return {m.name: m.result() for entry in self.entries for m in entry}


def predictions(outputs: list[Tensor], activations: list[str | None]) -> list[np.ndarray]:
    """The outputs as NumPy, logits turned into probabilities where an activation is pending."""
    return [np.asarray(z.array) if a is None else _probs(np.asarray(z.array), a)
            for z, a in zip(outputs, activations)]
