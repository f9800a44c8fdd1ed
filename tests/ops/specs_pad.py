"""Gradcheck specs for ``F.pad`` in 'reflect', 'replicate' and 'circular' mode (1, 2 or 3
padded dims), against ``np.pad`` in 'reflect', 'edge' and 'wrap' mode."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, rand

import chainrule as cr

NUMPY_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_case(r: np.random.Generator) -> list[Any]:
    mode = ["reflect", "replicate", "circular"][int(r.integers(0, 3))]
    k = int(r.integers(1, 4))
    shape = tuple(int(n) for n in r.integers(2, 4, k + int(r.integers(1, 3))))
    limit = {"reflect": 0, "replicate": 2, "circular": 1}[mode]  # widths up to n-1, n+1, n
    pad = [int(r.integers(0, shape[-1 - i // 2] + limit)) for i in range(2 * k)]
    return [rand(r, shape), pad, mode]


def np_pad(x: np.ndarray, pad: list[int], mode: str) -> np.ndarray:
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return np.pad(x, widths, mode=NUMPY_MODE[mode])


SPECS = [
    Spec("getitem", lambda x, p, m: cr.nn.functional.pad(x, p, mode=m), _pad_case, np_pad,
         id="pad-modes", gradgrad=True),
]
