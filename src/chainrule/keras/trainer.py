"""The training half of ``keras.Model``: ``compile``, the per-batch steps and the loops.

``compile`` sets the optimizer, losses and metrics; ``fit`` / ``evaluate`` / ``predict`` turn the
data into batches (``keras.data_adapter``) and hand one-batch steps to the framework-neutral
loops of ``chainrule.train``. A batch goes through ``train_step(data)`` / ``test_step(data)``,
which subclasses may override as in Keras 3 (PyTorch-backend idiom: ``self(x, training=True)``,
``self.compute_loss``, ``loss.backward()``, ``self.optimizer.apply(grads, weights)``, then
update ``self.metrics`` and return their results). Metrics are stateful, reset each epoch, so
the logs are running values over the epoch, as in Keras.

When an output comes from a layer with a softmax or sigmoid activation and the loss is the
matching cross entropy, the default steps compute the loss from the layer's logits by one fused
op (``F.cross_entropy`` / ``F.binary_cross_entropy_with_logits``), so saturated outputs never
give NaN or inf.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras import metrics as metrics_mod
from chainrule.keras import optimizers
from chainrule.keras._data import _seed
from chainrule.keras.compile_utils import CompileLoss, CompileMetrics, predictions
from chainrule.keras.data_adapter import (
    ArrayData,
    IterableData,
    adapt,
    as_tensors,
    batch_len,
    class_weights_to_sample_weights,
    flat_logs,
    take,
    to_tensor,
    unpack_x_y_sample_weight,
)
from chainrule.keras.serialization import accepted, deserialize, serialize
from chainrule.keras.symbolic import flatten, map_structure
from chainrule.tensor import Tensor
from chainrule.train import Callback, History, evaluate_loop, fit_loop, predict_loop


class Trainer:
    """``compile`` / ``fit`` / ``evaluate`` / ``predict`` and the steps they run; a base of
    ``keras.Model``, which supplies the calls, the parameters and ``output_names``."""

    # ---- training configuration ----
    def compile(self, optimizer: str | optimizers.Optimizer = "rmsprop", loss: Any = None,
                loss_weights: Any = None, metrics: Any = None, weighted_metrics: Any = None,
                run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: bool | str = "auto", auto_scale_loss: bool = True) -> None:
        """Set the optimizer, the loss(es) and the metrics for ``fit`` / ``evaluate``.

        Args:
            optimizer: a name ('adam', 'sgd', ...) or a ``keras.optimizers`` instance.
            loss: a name or ``loss(y_true, y_pred)``; with several outputs, a list (one per
                output) or a dict keyed by output name, or one loss for all.
            loss_weights: the weight of each output's loss in the total (list or dict).
            metrics: names ('accuracy', 'mae', ...), callables or ``keras.metrics`` objects;
                with several outputs a dict by output name or one entry per output.
            jit_compile: True traces the training step with ``cr.compile`` and replays it.
        """
        if weighted_metrics is not None:
            raise ValueError("compile: weighted_metrics is not supported")
        if steps_per_execution != 1:
            raise ValueError(f"compile: steps_per_execution must be 1, got {steps_per_execution}")
        self.optimizer = optimizers.get(optimizer)
        self._compile_loss = None if loss is None else CompileLoss(loss, loss_weights)
        self._compile_metrics = CompileMetrics(metrics)
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile is True
        self._gradient_step = cr.compile(self._eager_gradient_step) if self.jit_compile \
            else self._eager_gradient_step
        self.compiled = True
        self._bound = False
        self._metrics_built = False

    def get_compile_config(self) -> dict[str, Any]:
        """The ``compile`` arguments as saved in a ``.keras`` archive."""
        return {"optimizer": serialize(self.optimizer), "loss": serialize(self.loss),
                "loss_weights": None if self._compile_loss is None
                else self._compile_loss.loss_weights,
                "metrics": serialize(self._compile_metrics.metrics_arg),
                "weighted_metrics": None, "run_eagerly": self.run_eagerly,
                "steps_per_execution": 1, "jit_compile": self.jit_compile}

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """``compile`` with the arguments of ``get_compile_config``."""
        entry = config.get("optimizer")
        optimizer = entry
        if isinstance(entry, dict):
            cls = getattr(optimizers, entry["class_name"], None)
            if cls is None:
                raise ValueError(f"Unknown optimizer: '{entry['class_name']}'")
            optimizer = cls(**accepted(cls, entry["config"], entry["class_name"]))
        self.compile(optimizer=optimizer, loss=deserialize(config.get("loss")),
                     loss_weights=config.get("loss_weights"),
                     metrics=deserialize(config.get("metrics")),
                     run_eagerly=bool(config.get("run_eagerly")),
                     jit_compile=config.get("jit_compile") is True)

    @property
    def loss(self) -> Any:
        return None if self._compile_loss is None else self._compile_loss.loss

    @property
    def output_names(self) -> list[str]:
        n = getattr(self, "_output_count", 1)
        return ["output"] if n == 1 else [f"output_{i}" for i in range(n)]

    @property
    def metrics(self) -> list[metrics_mod.Metric]:
        """The loss tracker and the compiled metrics (``metric.result()`` is a dict)."""
        if not self.compiled:
            return []
        return [self._loss_tracker, self._compile_metrics]

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        self._seen, self._prev_logs = 0, {}
        for m in self.metrics:
            m.reset_state()
        for t in self.__dict__.get("_part_trackers", {}).values():
            t.reset_state()

    def _prepare(self, batch: tuple[Any, Any, Any]) -> None:
        if not self.compiled:
            raise RuntimeError("You must call compile() before fit/evaluate")
        if not self.built:
            self._probe(map_structure(to_tensor, batch[0]))
        if not self._bound:
            assert self.optimizer is not None
            self.optimizer.bind(p for p in self.parameters() if p.requires_grad)
            self._bound = True

    def _build_metrics(self, y: Any, outputs: list[Tensor]) -> None:
        if self._metrics_built or self._compile_loss is None:
            return
        self._compile_loss.build(self.output_names)
        shapes = [(None, *o.shape[1:]) for o in outputs]
        self._compile_metrics.build(self.output_names, self._compile_loss, shapes)
        self._metrics_built = True

    # ---- one batch ----
    def _logit_activations(self) -> list[str | None]:
        """Per output: 'softmax' / 'sigmoid' when ``_call_logits`` gives the logits before
        that activation, None when it gives the output itself."""
        return [None] * len(self.output_names)

    def _call_logits(self, x: Any) -> list[Tensor]:
        return flatten(self(x))

    def _outputs_for_loss(self, x: Any) -> tuple[list[Tensor], list[str | None]]:
        return self._call_logits(x), self._logit_activations()

    def _targets(self, y: Any) -> list[Any]:
        names = self.output_names
        if isinstance(y, dict):
            return [y.get(n) for n in names]
        if isinstance(y, (list, tuple)) and len(names) > 1:
            return list(y)
        return [y]

    def _weights(self, sample_weight: Any) -> list[Any]:
        n = len(self.output_names)
        if isinstance(sample_weight, dict):
            return [sample_weight.get(name) for name in self.output_names]
        if isinstance(sample_weight, (list, tuple)) and n > 1:
            return list(sample_weight)
        return [sample_weight] * n

    def _eager_gradient_step(self, x: Any, y: Any,
                             sample_weight: Any) -> tuple[Tensor, list[Any], list[Tensor]]:
        assert self.optimizer is not None
        self.optimizer.zero_grad()
        total, parts, outs, _ = self._loss_of_batch(x, y, sample_weight)
        total.backward()
        self.optimizer.step()
        return total, parts, outs

    def _loss_of_batch(self, x: Any, y: Any, sample_weight: Any
                       ) -> tuple[Tensor, list[Any], list[Tensor], list[str | None]]:
        if self._compile_loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='categorical_crossentropy' "
                             "(or override train_step / test_step)")
        outs, acts = self._outputs_for_loss(x)
        self._build_metrics(y, outs)
        total, parts = self._compile_loss(self._targets(y), outs, acts,
                                          self._weights(sample_weight))
        return self._with_penalties(total), parts, outs, acts

    def _with_penalties(self, total: Tensor) -> Tensor:
        """The loss plus the model's weight penalties (``self.losses``), as Keras adds them."""
        for penalty in self.losses:
            total = total + penalty
        return total

    def _record(self, total: Tensor, parts: list[Any], y: Any, outs: list[Tensor],
                acts: list[str | None], n: int) -> dict[str, float]:
        self._loss_tracker.update_state(float(total.item()), sample_weight=n)
        names = self._compile_loss.log_names() if self._compile_loss else []
        trackers = self.__dict__.setdefault("_part_trackers", {})
        for name, part in zip(names, [p for p in parts if p is not None]):
            trackers.setdefault(name, metrics_mod.Mean(name=name))
            trackers[name].update_state(float(part.item()), sample_weight=n)
        self._compile_metrics.update_state(self._targets(y), predictions(outs, acts))
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, float]:
        """The current result of every metric, as one flat dict of log name → float."""
        logs: dict[str, float] = {}
        for m in self.metrics:
            r = m.result()
            logs.update(r if isinstance(r, dict) else {m.name: r})
            if m is self._loss_tracker:
                logs.update({k: t.result() for k, t in
                             self.__dict__.get("_part_trackers", {}).items()})
        return {k: float(v) for k, v in logs.items()}

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Tensor:
        """The compiled loss of ``y_pred`` against ``y`` (what ``train_step`` minimises)."""
        if self._compile_loss is None:
            raise ValueError("compute_loss: compile the model with a loss first")
        outs = flatten(y_pred)
        self._build_metrics(y, outs)
        total, _ = self._compile_loss(self._targets(y), outs, [None] * len(outs),
                                      self._weights(sample_weight))
        return self._with_penalties(total)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any,
                        sample_weight: Any = None) -> dict[str, float]:
        """Update the compiled metrics with a batch and return every metric's result."""
        self._compile_metrics.update_state(self._targets(y),
                                           [np.asarray(o.array) for o in flatten(y_pred)])
        return self.get_metrics_result()

    def train_step(self, data: Any) -> dict[str, float]:
        """One optimisation step on a batch ``(x, y[, sample_weight])``; returns the logs."""
        x, y, sw = unpack_x_y_sample_weight(data)
        total, parts, outs = self._gradient_step(x, y, sw)
        acts = self._logit_activations()
        return self._record(total, parts, y, outs, acts, batch_len(x))

    def test_step(self, data: Any) -> dict[str, float]:
        """The loss and metrics of a batch, without training; returns the logs."""
        x, y, sw = unpack_x_y_sample_weight(data)
        with cr.no_grad():
            total, parts, outs, acts = self._loss_of_batch(x, y, sw)
        return self._record(total, parts, y, outs, acts, batch_len(x))

    def predict_step(self, data: Any) -> Any:
        x, _, _ = unpack_x_y_sample_weight(data)
        with cr.no_grad():
            return self(x, training=False)

    # The fit / evaluate loops call these with a NumPy batch (x, y, sample_weight).
    def _train_step(self, batch: tuple[Any, Any, Any]) -> tuple[dict[str, float], int]:
        return self._as_batch_logs(self.train_step(as_tensors(batch)), batch_len(batch[0]))

    def _test_step(self, batch: tuple[Any, Any, Any]) -> tuple[dict[str, float], int]:
        return self._as_batch_logs(self.test_step(as_tensors(batch)), batch_len(batch[0]))

    def _as_batch_logs(self, running: dict[str, Any], n: int) -> tuple[dict[str, float], int]:
        """The batch's share of the running results, for the loop's size-weighted means.

        The steps return Keras's running values over the epoch; the loop (which also averages
        over ranks when distributed) sums ``value·n`` per batch. Each batch is given
        ``(r·seen − r_prev·(seen − n)) / n``, so the sums telescope to ``r_last·seen`` and the
        loop's mean is the last running value.
        """
        logs = flat_logs(running)
        seen = self._seen = self._seen + n
        prev = self._prev_logs
        self._prev_logs = logs
        return {k: (v * seen - prev.get(k, 0.0) * (seen - n)) / n for k, v in logs.items()}, n

    # ---- loops ----
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1) -> History:
        """Train; returns the :class:`History` (``history.history['loss']``, ``['val_...']``).

        ``x``/``y``: arrays, lists or dicts of arrays (per input / output); or ``x`` alone as a
        ``cr.data.DataLoader``, a list or a generator of ``(x, y[, sample_weight])`` batches
        (a generator is read on across epochs, ``steps_per_epoch`` batches each).
        ``validation_split`` holds out the *last* fraction, before shuffling, as Keras does.
        ``validation_freq``: validate every that many epochs.
        """
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else batch_size
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be positive, got {batch_size}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if not isinstance(validation_freq, int) or validation_freq < 1:
            raise ValueError(f"fit: validation_freq must be a positive int, got "
                             f"{validation_freq!r}")
        data = adapt(x, y, sample_weight, steps_per_epoch, "fit")
        if class_weight is not None:
            if not isinstance(data, ArrayData) or isinstance(data.y, (list, dict)):
                raise ValueError("fit: class_weight needs arrays x, y with a single output")
            cw = class_weights_to_sample_weights(data.y, class_weight)
            data.sample_weight = cw if data.sample_weight is None else data.sample_weight * cw
        val: ArrayData | IterableData | None = None
        if validation_data is None and validation_split > 0:
            if not isinstance(data, ArrayData):
                raise ValueError("fit: validation_split needs arrays, not a dataset or "
                                 "generator; pass validation_data")
            data, val = data.split(validation_split)
        elif validation_data is not None:
            vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            val = adapt(vx, vy, vsw, validation_steps, "fit(validation_data)")
        if isinstance(data, ArrayData):
            first = next(data.batches(batch_size))
            steps: int | None = (data.steps(batch_size) if steps_per_epoch is None
                                 else steps_per_epoch)
        else:
            first = next(iter(IterableData(data.data, 1).batches())) if not data.one_shot \
                else None
            steps = data.steps()
        if first is not None:
            self._prepare(first)
        current = {"epoch": initial_epoch}

        def batches(epoch: int) -> Iterable[Any]:
            current["epoch"] = epoch
            self.train()
            self.reset_metrics()
            if isinstance(data, IterableData):
                return self._prepared(data.batches())
            order = np.random.default_rng(_seed()).permutation(data.n) if shuffle else None
            it = data.batches(batch_size, order)
            return it if steps_per_epoch is None else take(it, steps_per_epoch)

        def validate(cbs: Any) -> dict[str, float]:
            if (current["epoch"] + 1) % validation_freq:
                return {}
            assert val is not None
            return self._evaluate_data(val, validation_batch_size or batch_size, cbs)

        hist = fit_loop(self, self._train_step, batches, epochs, steps, callbacks, verbose,
                        validate if val is not None else None, initial_epoch)
        self.eval()
        return hist

    def _prepared(self, batches: Iterable[Any]) -> Iterable[Any]:
        for b in batches:
            self._prepare(b)
            yield b

    def _evaluate_data(self, data: ArrayData | IterableData, batch_size: int,
                       callbacks: Any) -> dict[str, float]:
        self.eval()
        self.reset_metrics()
        it = data.batches(batch_size) if isinstance(data, ArrayData) else data.batches()
        return evaluate_loop(self, self._test_step, self._prepared(it), callbacks)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: int | str = "auto", sample_weight: Any = None,
                 steps: int | None = None, callbacks: Sequence[Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) on the data: a float without metrics, else [loss, *metrics]."""
        data = adapt(x, y, sample_weight, steps, "evaluate")
        logs = self._evaluate_data(data, batch_size or 32, callbacks)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        vals = list(logs.values())
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                steps: int | None = None, callbacks: Sequence[Callback] | None = None) -> Any:
        """The model's outputs (after the final activations) as NumPy arrays, in the
        structure of the model's outputs."""
        data = adapt(x, None, None, steps, "predict")
        it = (data.batches(batch_size or 32) if isinstance(data, ArrayData)
              else data.batches())
        self.eval()

        def step(batch: Any) -> Any:
            if not self.built:
                self._probe(map_structure(to_tensor, batch[0]))
            out = self.predict_step(as_tensors(batch))
            return map_structure(lambda t: np.asarray(t.array), out)

        outs = predict_loop(self, step, it, callbacks)
        if not outs:
            return np.zeros((0,))
        leaves = [flatten(o) for o in outs]
        merged = iter([np.concatenate([b[i] for b in leaves]) for i in range(len(leaves[0]))])
        return map_structure(lambda _: next(merged), outs[0])
