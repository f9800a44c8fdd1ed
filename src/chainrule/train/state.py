"""What callbacks read and write on a model: weights (via ``state_dict``), the optimizer's
learning rate, and atomic weight files."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def get_weights(model: Any) -> dict[str, np.ndarray]:
    """A deep copy of the model's state (parameters and buffers) as NumPy arrays."""
    return {k: np.array(_array(v), copy=True) for k, v in model.state_dict().items()}


def _array(v: Any) -> np.ndarray:
    return v if isinstance(v, np.ndarray) else np.asarray(v.array)


def set_weights(model: Any, weights: dict[str, np.ndarray]) -> None:
    state = model.state_dict()
    for k, v in weights.items():
        _array(state[k])[...] = v


def get_lr(model: Any) -> float:
    """The model's optimizer learning rate: ``optimizer.learning_rate`` (Keras) or the first param
    group's ``lr`` (``cr.optim``)."""
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise ValueError("this callback needs model.optimizer")
    if hasattr(opt, "learning_rate"):
        return float(opt.learning_rate)
    return float(opt.param_groups[0]["lr"])


def set_lr(model: Any, lr: float) -> None:
    opt = model.optimizer
    if hasattr(opt, "learning_rate"):
        opt.learning_rate = float(lr)
    else:
        for group in opt.param_groups:
            group["lr"] = float(lr)


def save_state(state: dict[str, Any], path: str) -> None:
    """``chainrule.save`` (safetensors, atomic); NumPy ``.npz`` via a temp file + rename when the
    optional ``safetensors`` is missing."""
    try:
        import safetensors  # noqa: F401

        from chainrule.serialization import save
    except ImportError:
        tmp = path + ".tmp.npz"
        np.savez(tmp, **{k: _array(v) for k, v in state.items()})
        os.replace(tmp, path)
        return
    save(state, path)
