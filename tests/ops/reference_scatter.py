"""NumPy references for writing at indices (scatter, scatter_reduce with every reduction and
with and without ``include_self``, index_add, index_put, masked_scatter), written as plain loops
over the index, for the specs the op table derives (``specs_table.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np

R = np.random.Generator
REDUCE = {"sum": np.add, "prod": np.multiply, "mean": np.add, "amax": np.maximum,
          "amin": np.minimum}


def _targets(index: np.ndarray, d: int) -> Any:
    """(position in index, position written in the output) pairs."""
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[d] = index[pos]
        yield pos, tuple(target)


def np_scatter(x: np.ndarray, d: int, index: np.ndarray, src: Any) -> np.ndarray:
    out = x.copy()
    for pos, target in _targets(index, d):
        out[target] = src[pos] if np.ndim(src) else src
    return out


def np_scatter_reduce(x: np.ndarray, d: int, index: np.ndarray, src: np.ndarray, reduce: str,
                      include_self: bool) -> np.ndarray:
    out, count = x.copy(), np.ones(x.shape)
    fresh = set() if include_self else {t for _, t in _targets(index, d)}
    for t in fresh:
        count[t] = 0
    for pos, target in _targets(index, d):
        if target in fresh:
            out[target] = src[pos]
            fresh.discard(target)
        else:
            out[target] = REDUCE[reduce](out[target], src[pos])
        count[target] += 1
    return out / np.maximum(count, 1) if reduce == "mean" else out


def unique_index(r: R, s: tuple[int, ...], d: int) -> np.ndarray:
    """An index along ``d`` with no position written twice (overwrites are not smooth)."""
    k = int(r.integers(1, s[d] + 1))
    rows = [r.permutation(s[d])[:k] for _ in range(int(np.prod(s)) // s[d])]
    other = s[:d] + s[d + 1:]
    return np.moveaxis(np.array(rows).reshape(*other, k), -1, d)


def np_index_add(x: np.ndarray, d: int, index: np.ndarray, source: np.ndarray,
                 alpha: float) -> np.ndarray:
    out = np.moveaxis(x.copy(), d, 0)
    np.add.at(out, index, alpha * np.moveaxis(source, d, 0))
    return np.moveaxis(out, 0, d)


def np_index_put(x: np.ndarray, indices: tuple[np.ndarray, ...], values: np.ndarray,
                 accumulate: bool) -> np.ndarray:
    out = x.copy()
    if accumulate:
        np.add.at(out, indices, np.broadcast_to(values, indices[0].shape))
    else:
        out[indices] = values
    return out


def np_masked_scatter(x: np.ndarray, mask: np.ndarray, source: np.ndarray) -> np.ndarray:
    out = x.copy()
    full = np.broadcast_to(mask, x.shape)
    out[full] = source[:int(full.sum())]
    return out
