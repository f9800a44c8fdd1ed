"""``chainrule.amp.GradScaler``: dynamic loss scaling, as ``torch.amp.GradScaler``.

The loss is multiplied by a scale before ``backward`` so that small low-precision gradients do not
flush to zero; ``step`` divides the gradients by it again and skips the optimizer step when any
of them is inf or NaN. ``update`` then halves the scale (``backoff_factor``) after a skipped step
and doubles it (``growth_factor``) after ``growth_interval`` clean steps in a row. The scale is
held in float32 and updated with PyTorch's rule, so the two scale trajectories are equal.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from enum import Enum
from typing import Any

from chainrule import backend
from chainrule.autograd.grad_mode import no_grad
from chainrule.tensor import Tensor


class OptState(Enum):
    """Where one optimizer is in the current iteration."""

    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _fresh_state() -> dict[str, Any]:
    return {"stage": OptState.READY, "found_inf": None}


class GradScaler:
    """Scales the loss, unscales the gradients, skips steps with inf/NaN gradients.

    Args:
        device: ``"cpu"``, where the scale lives; another device (``"cuda"``) gives a warning
            and a disabled scaler, as in PyTorch on a machine without it.
        init_scale: the first scale factor.
        growth_factor: multiplies the scale after ``growth_interval`` steps without inf/NaN.
        backoff_factor: multiplies the scale after a step whose gradients had inf/NaN.
        growth_interval: the number of consecutive clean steps before the scale grows.
        enabled: when False every method is a pass-through (``scale`` returns its input,
            ``step`` calls ``optimizer.step()``).

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(3, 1)
        >>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
        >>> scaler = cr.amp.GradScaler("cpu", init_scale=1024.0)
        >>> loss = model(cr.randn(4, 3)).pow(2).mean()
        >>> scaler.scale(loss).backward()
        >>> scaler.step(opt)
        >>> scaler.update()
        >>> scaler.get_scale()
        1024.0
    """

    def __init__(self, device: str = "cpu", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if enabled and device != "cpu":
            warnings.warn(f"GradScaler is enabled, but {device} is not available (chainrule "
                          "computes on the CPU).  Disabling.", stacklevel=2)
            self._enabled = False
        if enabled:
            if growth_factor <= 1.0:
                raise ValueError(f"GradScaler: growth_factor must be > 1.0, got {growth_factor}")
            if backoff_factor >= 1.0:
                raise ValueError(f"GradScaler: backoff_factor must be < 1.0, got "
                                 f"{backoff_factor}")
        self._init_scale = float(init_scale)
        self._scale: Any = None  # float32 0-d array, made on the first scale()
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker = 0
        self._per_optimizer_states: dict[int, dict[str, Any]] = {}

    # ---- the iteration --------------------------------------------------------------------
    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Tensor or an iterable of Tensors) multiplied by the scale factor."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = backend.xp.asarray(self._init_scale, dtype=backend.float32)
            self._growth_tracker = self._init_growth_tracker
        if isinstance(outputs, Tensor):
            return outputs * Tensor._wrap(self._scale.astype(outputs.dtype))
        if isinstance(outputs, Iterable):
            scaled = [self.scale(o) for o in outputs]
            return type(outputs)(scaled) if isinstance(outputs, list | tuple) else scaled
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place (once per ``update``), noting
        whether any is inf or NaN; call it before clipping gradients."""
        if not self._enabled:
            return
        self._check_scale("unscale_")
        state = self._state(optimizer)
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # NOTE: the reciprocal in float64 then float32, as PyTorch (exact for powers of two)
        inv_scale = backend.float32.type(1.0 / float(self._scale))
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if p.grad.dtype == backend.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    g = p.grad.numpy()
                    found = found or not bool(backend.xp.isfinite(g).all())
                    backend.xp.multiply(g, inv_scale, out=g, casting="unsafe")
        state["found_inf"] = found
        state["stage"] = OptState.UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale ``optimizer``'s gradients unless ``unscale_`` did, then call
        ``optimizer.step(*args, **kwargs)`` only if none of them is inf or NaN.

        Returns:
            What ``optimizer.step`` returned, or None when the step was skipped.
        """
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        self._check_scale("step")
        state = self._state(optimizer)
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = OptState.STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else back off after an
        inf/NaN in any optimizer's gradients and grow after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        self._check_scale("update")
        if new_scale is not None:
            if isinstance(new_scale, Tensor):
                if new_scale.numel() != 1 or new_scale.requires_grad:
                    raise ValueError("GradScaler.update: new_scale should be a float or a "
                                     "1-element Tensor with requires_grad=False, got shape "
                                     f"{tuple(new_scale.shape)}")
                new_scale = new_scale.item()
            self._scale = backend.xp.asarray(new_scale, dtype=backend.float32)
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to "
                                   "update(); call step() or unscale_() first")
            self._update_scale(any(found))
        self._per_optimizer_states = {}

    def _update_scale(self, found_inf: bool) -> None:
        """PyTorch's ``_amp_update_scale_``: the arithmetic in float32."""
        f32 = backend.float32.type
        if found_inf:
            self._scale = backend.xp.asarray(self._scale * f32(self._backoff_factor))
            self._growth_tracker = 0
            return
        successful = self._growth_tracker + 1
        if successful == self._growth_interval:
            grown = f32(self._scale * f32(self._growth_factor))
            if math.isfinite(grown):
                self._scale = backend.xp.asarray(grown)
            successful = 0
        self._growth_tracker = successful

    # ---- accessors and state ----------------------------------------------------------------
    def get_scale(self) -> float:
        """The current scale factor (``init_scale`` before the first ``scale``; 1.0 when
        disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict[str, Any]:
        """``scale``, ``growth_factor``, ``backoff_factor``, ``growth_interval`` and
        ``_growth_tracker`` (PyTorch's keys); empty when disabled."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker if self._scale is not None
                else self._init_growth_tracker}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (a no-op when disabled)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = backend.xp.asarray(self._init_scale, dtype=backend.float32)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        self._growth_tracker = self._init_growth_tracker

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer_states.setdefault(id(optimizer), _fresh_state())

    def _check_scale(self, funcname: str) -> None:
        if self._scale is None:
            raise RuntimeError(f"GradScaler.{funcname}: the scale is not set yet; call "
                               "scaler.scale(loss) before it in this iteration")
