"""Gradcheck specs for the fused layer primitives (``ops/normalization.py``,
``ops/attention.py``), against plain NumPy references. Hand-written: they are reached through
``F.layer_norm`` and ``F.scaled_dot_product_attention``, defined outside the op table."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from specs import Spec, np_softmax, rand

import chainrule.nn.functional as F

R = np.random.Generator


def _np_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None,
                  causal: bool = False) -> np.ndarray:
    s = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        s = s + mask
    if causal:
        s = np.where(np.tri(*s.shape[-2:], dtype=bool), s, -np.inf)
    return np_softmax(s, -1) @ v


def _qkv(r: R, batch: tuple[int, ...] = (2, 3)) -> list[Any]:
    L, S, E, Ev = (int(n) for n in r.integers(1, 5, 4))
    return [rand(r, (*batch, L, E)), rand(r, (*batch, S, E)), rand(r, (*batch, S, Ev))]


def _qkv_mask(r: R) -> list[Any]:
    q, k, v = _qkv(r)
    return [q, k[:1], v[:1], rand(r, (q.shape[-2], k.shape[-2]))]  # k, v broadcast over batch


def _np_norm(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)


SPECS = [
    Spec("layer_norm", lambda x: F.layer_norm(x, x.shape[-2:]),
         lambda r: [rand(r, (2, *(int(n) for n in r.integers(1, 4, 2))))],
         lambda x: _np_norm(x, (-2, -1)), id="layer_norm-2d-no-affine", gradgrad=True),
    Spec("layer_norm", lambda x, w: F.layer_norm(x, x.shape[-1:], w),
         lambda r: [rand(r, (3, 4)), rand(r, (4,))], lambda x, w: _np_norm(x, (-1,)) * w,
         id="layer_norm-weight-only"),
    Spec("scaled_dot_product_attention", F.scaled_dot_product_attention, _qkv, _np_attention,
         id="sdpa", gradgrad=True),
    Spec("scaled_dot_product_attention",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         lambda r: _qkv(r, (2,)), lambda q, k, v: _np_attention(q, k, v, causal=True),
         id="sdpa-causal", gradgrad=True),
    Spec("scaled_dot_product_attention", F.scaled_dot_product_attention, _qkv_mask,
         _np_attention, id="sdpa-float-mask-broadcast"),
]
