"""Array conversion helpers of ``keras.models``."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.tensor import Tensor


def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy() if hasattr(x, "numpy") else np.asarray(x.array)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise ValueError(f"{name} must be array-like with a numeric dtype, got {arr.dtype}")
    return arr


def _float_or_int(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "f":
        return arr.astype(np.float32, copy=False)
    if arr.dtype.kind in "iub":
        return arr
    raise ValueError(f"unsupported input dtype {arr.dtype}")


def _probs(z: np.ndarray, activation: str) -> np.ndarray:
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _seed() -> int:
    """A fresh seed per epoch drawn from chainrule's global RNG, so ``cr.manual_seed`` makes
    shuffling reproducible."""
    from chainrule import random as _random
    return int(_random.numpy_generator().integers(2**31))
