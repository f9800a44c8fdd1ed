"""Keras's default initialisers, written into existing parameters' arrays."""

from __future__ import annotations

import math

import numpy as np

from chainrule import random as _random


def _fans(shape: tuple[int, ...], torch_layout: bool) -> tuple[int, int]:
    """Fan-in/out of a kernel: (out, in, *k) as in cr.nn, or Keras's (*k, in, out)."""
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:]) if torch_layout else math.prod(shape[:-2])
    if torch_layout:
        return shape[1] * receptive, shape[0] * receptive
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(arr: np.ndarray, torch_layout: bool = True) -> None:
    """U(−l, l), l = √(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010), in place."""
    fan_in, fan_out = _fans(arr.shape, torch_layout)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    arr[...] = _random.numpy_generator().uniform(-limit, limit, arr.shape)


def uniform(arr: np.ndarray, limit: float = 0.05) -> None:
    arr[...] = _random.numpy_generator().uniform(-limit, limit, arr.shape)


def orthogonal(arr: np.ndarray, gain: float = 1.0) -> None:
    """A (semi-)orthogonal matrix of ``arr``'s 2-D shape, in place."""
    rows, cols = arr.shape
    a = _random.numpy_generator().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    arr[...] = gain * (q if rows >= cols else q.T)


def zeros(arr: np.ndarray) -> None:
    arr[...] = 0


def ones(arr: np.ndarray) -> None:
    arr[...] = 1


INITIALIZERS = {
    "glorot_uniform": lambda arr: glorot_uniform(arr, torch_layout=False),
    "zeros": zeros, "ones": ones, "orthogonal": orthogonal, "uniform": uniform,
}


def get(name: str):  # type: ignore[no-untyped-def]
    """The in-place initialiser of a Keras name, for weights in Keras's (…, in, out) layout."""
    if name not in INITIALIZERS:
        raise ValueError(f"Unknown initializer {name!r}; expected one of {sorted(INITIALIZERS)}")
    return INITIALIZERS[name]
