"""``TrainingMonitor``: per-step loss, gradient and weight norms, and an early, named error when
training goes non-finite.

Call ``monitor.step(loss)`` after ``loss.backward()`` and before ``optimizer.step()``. It
records the loss and, for every parameter, ‖grad‖₂ and ‖weight‖₂ (``per_layer`` sums them per
module), then raises ``FloatingPointError`` naming the first thing that became NaN/Inf: the
loss, a parameter's gradient, or a parameter itself. With ``watch_activations=True`` each
submodule's output is also checked as it is computed, naming the layer.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.backend import xp
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


def _norm(arr: Any) -> float:
    return float(xp.sqrt(xp.sum(xp.square(arr, dtype=xp.float64))))


def _bad(arr: Any) -> str | None:
    if xp.isfinite(arr).all():
        return None
    return "NaN" if xp.isnan(arr).any() else "Inf"


class TrainingMonitor:
    """Watch a model's training numerically.

    Args:
        model: the module whose named parameters are tracked.
        check_finite: raise ``FloatingPointError`` when something becomes NaN/Inf.
        watch_activations: also check every submodule's forward output (names the layer).

    Attributes:
        history: one dict per step: ``{"step", "loss", "grad_norm": {name: ‖g‖},
            "weight_norm": {name: ‖w‖}}``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.train.monitor import TrainingMonitor
        >>> net = cr.nn.Linear(2, 1)
        >>> mon = TrainingMonitor(net)
        >>> loss = net(cr.ones(4, 2)).pow(2).mean(); loss.backward()
        >>> record = mon.step(loss)
        >>> sorted(record["grad_norm"])
        ['bias', 'weight']
    """

    def __init__(self, model: Module, check_finite: bool = True,
                 watch_activations: bool = False) -> None:
        self.model = model
        self.check_finite = check_finite
        self.history: list[dict[str, Any]] = []
        self._step = 0
        self._wrapped: list[Module] = []
        if watch_activations:
            self.watch_activations()

    # ---- per-step record --------------------------------------------------------------------
    def step(self, loss: Tensor | float | None = None) -> dict[str, Any]:
        """Record this step's loss and norms; raise if anything is non-finite."""
        value = None if loss is None else float(loss.item() if isinstance(loss, Tensor) else loss)
        grads: dict[str, float] = {}
        weights: dict[str, float] = {}
        problem = None
        if value is not None and not math.isfinite(value):
            problem = f"the loss became {'NaN' if math.isnan(value) else 'Inf'} ({value})"
        for name, p in self.model.named_parameters():
            if p.grad is not None:
                grads[name] = _norm(p.grad.array)
                kind = _bad(p.grad.array)
                if problem is None and kind:
                    problem = (f"the gradient of parameter '{name}' (shape {tuple(p.shape)}) "
                               f"became {kind}")
            weights[name] = _norm(p.array)
            kind = _bad(p.array)
            if problem is None and kind:
                problem = f"parameter '{name}' (shape {tuple(p.shape)}) became {kind}"
        record = {"step": self._step, "loss": value, "grad_norm": grads, "weight_norm": weights}
        self.history.append(record)
        self._step += 1
        if self.check_finite and problem is not None:
            raise FloatingPointError(f"TrainingMonitor: at step {record['step']}, {problem}")
        return record

    def per_layer(self, key: str = "grad_norm", step: int = -1) -> dict[str, float]:
        """‖·‖₂ of each layer's parameters together (``key`` 'grad_norm' or 'weight_norm'),
        keyed by module name, for the recorded ``step`` (default the last)."""
        if not self.history:
            return {}
        out: dict[str, float] = {}
        for name, v in self.history[step][key].items():
            layer = name.rpartition(".")[0] or "(root)"
            out[layer] = math.hypot(out.get(layer, 0.0), v)
        return out

    def series(self, name: str, key: str = "grad_norm") -> list[float | None]:
        """One parameter's norm over the recorded steps (None where it had no gradient)."""
        return [r[key].get(name) for r in self.history]

    def as_callback(self) -> Any:
        """A ``chainrule.train`` callback that calls ``step`` after every training batch (with
        the running loss from the logs; gradients are those of the batch just taken)."""
        from chainrule.train.callbacks import Callback

        monitor = self

        class _MonitorCallback(Callback):
            def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
                monitor.step((logs or {}).get("loss"))

        return _MonitorCallback()

    # ---- activations ------------------------------------------------------------------------
    def watch_activations(self) -> None:
        """Check each submodule's output as it is produced (until ``close()``)."""
        for name, module in self.model.named_modules():
            if module in self._wrapped:
                continue
            self._wrap(name or "(root)", module)
            self._wrapped.append(module)

    def _wrap(self, name: str, module: Module) -> None:
        forward = module.forward
        monitor = self

        def checked(*args: Any, **kwargs: Any) -> Any:
            out = forward(*args, **kwargs)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            for i, o in enumerate(outs):
                if isinstance(o, Tensor) and o.dtype.kind == "f":
                    kind = _bad(o.array)
                    if kind and monitor.check_finite:
                        which = f" (output {i})" if len(outs) > 1 else ""
                        raise FloatingPointError(
                            f"TrainingMonitor: at step {monitor._step}, the output{which} of "
                            f"layer '{name}' ({type(module).__name__}) became {kind}")
            return out

        object.__setattr__(module, "forward", checked)

    def close(self) -> None:
        """Stop checking activations (restore the modules' own ``forward``)."""
        for module in self._wrapped:
            module.__dict__.pop("forward", None)
        self._wrapped = []

    def __enter__(self) -> TrainingMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
