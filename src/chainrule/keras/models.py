"""``Sequential``: a Keras model over ``cr.nn`` layers, trained by ``chainrule.train.fit_loop``.

``compile`` picks the loss, metrics and optimizer; ``fit`` slices NumPy data into batches
(``validation_split`` holds out the *last* fraction, before shuffling, as Keras does) and hands
one-batch step functions to the framework-neutral loop. When the last layer is
``Dense(..., activation='softmax')`` and the loss is (sparse) categorical cross entropy — or
sigmoid with binary cross entropy — the loss is computed from the layer's logits by one fused
op (``F.cross_entropy`` / ``F.binary_cross_entropy_with_logits``), so saturated outputs never
give NaN or inf.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.keras import activations, losses, metrics, optimizers
from chainrule.keras._data import _as_array, _float_or_int, _probs, _seed
from chainrule.keras.layers import InputLayer, Layer, _fmt_shape, _unique_name
from chainrule.tensor import Tensor
from chainrule.train import Callback, History, evaluate_loop, fit_loop, predict_loop
from chainrule.train.callbacks import save_state


class Sequential(Layer):
    """A linear stack of Keras layers.

    Example:
        >>> from chainrule.keras import Sequential, layers
        >>> m = Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
        ...                 layers.Dense(1)])
        >>> m.count_params()
        21
    """

    def __init__(self, layers: Iterable[Layer] | None = None, name: str | None = None) -> None:
        super().__init__(name=name or _unique_name("sequential"))
        self.layers_list: list[Layer] = []
        self.stop_training = False
        self.history: History | None = None
        self.optimizer: optimizers.Optimizer | None = None
        self.compiled = False
        for layer in layers or []:
            self.add(layer)

    # ---- construction ----
    @property
    def layers(self) -> list[Layer]:
        return [la for la in self.layers_list if not isinstance(la, InputLayer)]

    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a keras layer, got {layer!r}")
        self.add_module(str(len(self.layers_list)), layer)
        self.layers_list.append(layer)
        first = self.layers_list[0]
        if len(self.layers_list) == 1 and first.input_shape_arg is not None:
            self._declared = (None, *first.input_shape_arg)
        if getattr(self, "_declared", None) is not None and self.layers:
            self.build(self._declared)

    def build(self, input_shape: Shape) -> None:  # type: ignore[override]
        """Create all weights by running a one-sample dummy batch (eval mode, no grad)."""
        shape = tuple(1 if s is None else s for s in input_shape)
        was_training = self.training
        self.eval()
        with cr.no_grad():
            self.call(cr.zeros(*shape))
        self.train(was_training)
        self.built = True
        self.built_input_shape = (None, *input_shape[1:])

    def forward(self, x: Any) -> Tensor:  # type: ignore[override]
        if not isinstance(x, Tensor):
            x = cr.as_tensor(_float_or_int(_as_array(x, "x")))
        return self.call(x)

    def call(self, x: Tensor, logits: bool = False) -> Tensor:
        """Run the layers; with ``logits=True`` skip the last layer's activation."""
        layers = self.layers
        if not layers:
            raise ValueError(f"Sequential '{self.name}' has no layers")
        for layer in layers[:-1]:
            x = layer(x)
        last = layers[-1]
        return _pre(last, x) if logits else last(x)

    # ---- introspection ----
    def count_params(self) -> int:  # type: ignore[override]
        return sum(sum(la.count_params()) for la in self.layers)

    def summary(self, print_fn: Callable[[str], Any] = print, line_length: int = 65) -> None:
        """Print Keras's table: layer (type), output shape, param #, then the totals."""
        if not self.built:
            raise ValueError(f"Sequential '{self.name}' has not been built yet: give the first "
                             f"layer input_shape=..., start with Input(shape), or call it on data")
        names = [f"{la.name} ({type(la).__name__})" for la in self.layers]
        w = (max(29, max(map(len, names)) + 3), 26, 10)
        line_length = max(line_length, sum(w))
        lines = [f'Model: "{self.name}"', "_" * line_length,
                 f" {'Layer (type)':<{w[0] - 1}}{'Output Shape':<{w[1]}}{'Param #':<{w[2]}}",
                 "=" * line_length]
        trainable = frozen = 0
        for i, la in enumerate(self.layers):
            t, f = la.count_params()
            trainable, frozen = trainable + t, frozen + f
            shape = _fmt_shape(la.output_shape) if la.output_shape else "?"
            lines.append(f" {la.name + ' (' + type(la).__name__ + ')':<{w[0] - 1}}"
                         f"{shape:<{w[1]}}{t + f:<{w[2]},}")
            lines.append("=" * line_length if i == len(self.layers) - 1 else "")
        lines += [f"Total params: {trainable + frozen:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {frozen:,}", "_" * line_length]
        for line in lines:
            print_fn(line)

    # ---- training configuration ----
    def compile(self, optimizer: str | optimizers.Optimizer = "rmsprop",
                loss: str | Callable[..., Tensor] | None = None,
                metrics: Sequence[str | Callable[..., float]] | None = None,
                **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"compile: unsupported arguments {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.loss_name = losses.name_of(self.loss)
        self.metric_ids = list(metrics or [])
        self.compiled = True
        self._bound = False

    def _prepare(self, x: np.ndarray) -> None:
        if not self.compiled:
            raise RuntimeError("You must call compile() before fit/evaluate")
        if not self.built:
            self.build((None, *x.shape[1:]))
        if not self._bound:
            assert self.optimizer is not None
            self.optimizer.bind(p for p in self.parameters() if p.requires_grad)
            self._bound = True
        last = self.layers[-1]
        act = activations.name_of(last.activation) if hasattr(last, "activation") else "linear"
        self._fused = losses.from_logits(self.loss, act) if hasattr(last, "call_linear") else None
        self._metrics = [metrics.resolve(m, self.loss_name, last.output_shape)
                         for m in self.metric_ids]

    def _loss_and_pred(self, xb: np.ndarray, yb: np.ndarray) -> tuple[Tensor, np.ndarray]:
        x = cr.from_numpy(xb)
        y = cr.from_numpy(yb)
        if self._fused is not None:
            z = self.call(x, logits=True)
            loss = self._fused(y, z)
            return loss, z.data   # argmax / sign of logits decide the accuracy metrics
        out = self.call(x)
        return self.loss(y, out), out.data

    def _logs(self, loss: Tensor, yb: np.ndarray, pred: np.ndarray) -> dict[str, float]:
        logs = {"loss": float(loss.item())}
        if self._metrics:
            if self._fused is not None:
                pred = _probs(pred, activations.name_of(self.layers[-1].activation))
            for name, fn in self._metrics:
                logs[name] = fn(yb, pred)
        return logs

    def _train_step(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, float], int]:
        xb, yb = batch
        assert self.optimizer is not None
        self.optimizer.zero_grad()
        loss, pred = self._loss_and_pred(xb, yb)
        loss.backward()
        self.optimizer.step()
        return self._logs(loss, yb, pred), len(xb)

    def _test_step(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[dict[str, float], int]:
        xb, yb = batch
        with cr.no_grad():
            loss, pred = self._loss_and_pred(xb, yb)
        return self._logs(loss, yb, pred), len(xb)

    # ---- data ----
    def _xy(self, x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
        if y is None:
            raise ValueError(f"{where}: y is required when x is an array")
        xa, ya = _float_or_int(_as_array(x, "x")), _as_array(y, "y")
        if len(xa) != len(ya):
            raise ValueError(f"{where}: x and y must have the same number of samples, got x with "
                             f"shape {xa.shape} and y with shape {ya.shape}")
        if ya.dtype.kind == "f" or self.loss_name in ("categorical_crossentropy",
                                                     "binary_crossentropy", "hinge"):
            ya = ya.astype(np.float32, copy=False)
        if len(xa) == 0:
            raise ValueError(f"{where}: got an empty dataset (x has shape {xa.shape})")
        return xa, ya

    @staticmethod
    def _batches(x: np.ndarray, y: np.ndarray, batch_size: int,
                 order: np.ndarray | None = None) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        n = len(x)
        for i in range(0, n, batch_size):
            if order is None:
                yield x[i:i + batch_size], y[i:i + batch_size]
            else:
                idx = order[i:i + batch_size]
                yield x[idx], y[idx]

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            initial_epoch: int = 0, steps_per_epoch: int | None = None) -> History:
        """Train; returns the :class:`History` (``history.history['loss']``, ``['val_...']``).

        ``x`` may also be an iterable of ``(x_batch, y_batch)`` pairs (e.g. a
        ``cr.data.DataLoader``), with ``y=None``.
        """
        verbose = 1 if verbose == "auto" else int(verbose)
        batch_size = 32 if batch_size is None else batch_size
        if batch_size <= 0:
            raise ValueError(f"fit: batch_size must be positive, got {batch_size}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"fit: validation_split must be in [0, 1), got {validation_split}")
        if y is None and x is not None and not isinstance(x, (np.ndarray, Tensor)):
            return self._fit_iterable(x, epochs, verbose, callbacks, validation_data,
                                      initial_epoch)
        xa, ya = self._xy(x, y, "fit")
        if validation_data is None and validation_split > 0:
            split = int(math.ceil(len(xa) * (1.0 - validation_split)))
            if split == 0 or split == len(xa):
                raise ValueError(f"fit: validation_split={validation_split} leaves no "
                                 f"{'training' if split == 0 else 'validation'} samples from "
                                 f"{len(xa)}")
            validation_data = (xa[split:], ya[split:])
            xa, ya = xa[:split], ya[:split]
        self._prepare(xa)
        val = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("fit: validation_data must be a tuple (x_val, y_val)")
            val = self._xy(*validation_data, "fit(validation_data)")
        steps = math.ceil(len(xa) / batch_size)

        def batches(epoch: int) -> Iterable[tuple[np.ndarray, np.ndarray]]:
            self.train()
            order = np.random.default_rng(_seed()).permutation(len(xa)) if shuffle else None
            return self._batches(xa, ya, batch_size, order)

        def validate(cbs: Any) -> dict[str, float]:
            self.eval()
            assert val is not None
            return evaluate_loop(self, self._test_step, self._batches(*val, batch_size), cbs)

        hist = fit_loop(self, self._train_step, batches, epochs, steps, callbacks, verbose,
                        validate if val is not None else None, initial_epoch)
        self.eval()
        return hist

    def _fit_iterable(self, data: Any, epochs: int, verbose: int, callbacks: Any,
                      validation_data: Any, initial_epoch: int) -> History:
        def convert(b: Any) -> tuple[np.ndarray, np.ndarray]:
            return self._xy(b[0], b[1], "fit")

        first = next(iter(data))
        self._prepare(convert(first)[0])
        steps = len(data) if hasattr(data, "__len__") else None

        def batches(epoch: int) -> Iterable[tuple[np.ndarray, np.ndarray]]:
            self.train()
            return (convert(b) for b in data)

        def validate(cbs: Any) -> dict[str, float]:
            self.eval()
            vd = validation_data
            it = (self._batches(*self._xy(*vd, "fit"), 256) if isinstance(vd, tuple)
                  else (convert(b) for b in vd))
            return evaluate_loop(self, self._test_step, it, cbs)

        hist = fit_loop(self, self._train_step, batches, epochs, steps, callbacks, verbose,
                        validate if validation_data is not None else None, initial_epoch)
        self.eval()
        return hist

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: int | str = "auto", callbacks: Sequence[Callback] | None = None,
                 return_dict: bool = False) -> float | list[float] | dict[str, float]:
        """Loss (and metrics) on the data: a float without metrics, else [loss, *metrics]."""
        xa, ya = self._xy(x, y, "evaluate")
        self._prepare(xa)
        self.eval()
        logs = evaluate_loop(self, self._test_step, self._batches(xa, ya, batch_size or 32),
                             callbacks)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        vals = [logs["loss"], *(logs[n] for n, _ in self._metrics)]
        return vals[0] if len(vals) == 1 else vals

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                callbacks: Sequence[Callback] | None = None) -> np.ndarray:
        """The model's outputs (after the final activation) as a NumPy array."""
        xa = _float_or_int(_as_array(x, "x"))
        if not self.built:
            self.build((None, *xa.shape[1:]))
        self.eval()

        def step(xb: np.ndarray) -> np.ndarray:
            with cr.no_grad():
                return np.asarray(self.call(cr.from_numpy(xb)).data)

        bs = batch_size or 32
        outs = predict_loop(self, step, (xa[i:i + bs] for i in range(0, len(xa), bs)),
                            callbacks)
        return np.concatenate(outs) if outs else np.zeros((0,))

    def __call__(self, x: Any, training: bool | None = None) -> Tensor:  # type: ignore[override]
        """``model(x)``; ``training=True/False`` sets Dropout/BatchNorm behaviour for this call."""
        if training is None:
            return self.forward(x)
        was = self.training
        self.train(training)
        try:
            return self.forward(x)
        finally:
            self.train(was)

    # ---- weights ----
    def get_weights(self) -> list[np.ndarray]:
        return [np.array(p.data, copy=True) for p in self.parameters()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        params = list(self.parameters())
        if len(params) != len(weights):
            raise ValueError(f"set_weights: the model has {len(params)} weight arrays, got "
                             f"{len(weights)}")
        for p, w in zip(params, weights):
            if tuple(p.shape) != tuple(np.shape(w)):
                raise ValueError(f"set_weights: shape {tuple(np.shape(w))} does not match the "
                                 f"weight's shape {tuple(p.shape)}")
            p.data[...] = w

    def save_weights(self, filepath: str | os.PathLike[str]) -> None:
        """The state dict to ``filepath`` (``chainrule.save``, atomic)."""
        save_state(self.state_dict(), os.fspath(filepath))

    save = save_weights

    def load_weights(self, filepath: str | os.PathLike[str]) -> None:
        from chainrule.serialization import load
        self.load_state_dict(load(os.fspath(filepath)))


Shape = tuple[int | None, ...]
Model = Sequential


def _pre(layer: Layer, x: Tensor) -> Tensor:
    """Run ``layer`` without its activation, through its own input checks and lazy build."""
    act = layer.activation
    layer.activation = activations.linear
    try:
        out = layer(x)
    finally:
        layer.activation = act
    return out


__all__ = ["Model", "Sequential"]
