"""Gradcheck specs for writing at indices: scatter, scatter_reduce (every reduction, with and
without ``include_self``), index_add, index_put with ``accumulate``, masked_scatter; NumPy
references written as plain loops over the index."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import Spec, away, distinct, rand

import chainrule as cr

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


def _scatter_case(r: R) -> list[Any]:
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(0, len(s)))
    index = unique_index(r, s, d)
    src = rand(r, tuple(n + int(r.integers(0, 2)) for n in index.shape))
    return [rand(r, s), d, index, src]


def _scatter_reduce_case(r: R) -> list[Any]:
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(0, len(s)))
    reduce = ["sum", "prod", "mean", "amax", "amin"][int(r.integers(0, 5))]
    shape = tuple(int(r.integers(1, 4)) if k == d else n for k, n in enumerate(s))
    index = r.integers(0, s[d], shape)
    if reduce in ("amax", "amin"):  # no ties: the max is then smooth
        both = distinct(r, (int(np.prod(s)) + int(np.prod(shape)),))
        x, src = both[:int(np.prod(s))].reshape(s), both[int(np.prod(s)):].reshape(shape)
    else:
        x, src = away(r, s, margin=0.3), away(r, shape, margin=0.3)
    return [x, d, index, src, reduce, bool(r.integers(0, 2))]


def _index_add_case(r: R) -> list[Any]:
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(-len(s), len(s)))
    index = r.integers(0, s[d], int(r.integers(1, 5)))
    source = rand(r, tuple(len(index) if k == d % len(s) else n for k, n in enumerate(s)))
    return [rand(r, s), d, index, source, float(r.uniform(-2, 2))]


def np_index_add(x: np.ndarray, d: int, index: np.ndarray, source: np.ndarray,
                 alpha: float) -> np.ndarray:
    out = np.moveaxis(x.copy(), d, 0)
    np.add.at(out, index, alpha * np.moveaxis(source, d, 0))
    return np.moveaxis(out, 0, d)


def _index_put_case(r: R) -> list[Any]:
    rows, cols = r.integers(0, 4, 5), r.integers(0, 3, 5)
    shape = [(5,), (1,), ()][int(r.integers(0, 3))]
    return [rand(r, (4, 3)), rand(r, shape), rows, cols]


def np_index_put_acc(x: np.ndarray, v: np.ndarray, rows: np.ndarray,
                     cols: np.ndarray) -> np.ndarray:
    out = x.copy()
    np.add.at(out, (rows, cols), np.broadcast_to(v, rows.shape))
    return out


def np_masked_scatter(x: np.ndarray, mask: np.ndarray, source: np.ndarray) -> np.ndarray:
    out = x.copy()
    full = np.broadcast_to(mask, x.shape)
    out[full] = source[:int(full.sum())]
    return out


SPECS = [  # scatter, masked_scatter: from the op table (specs_table.py)
    Spec("scatter", lambda x, d, i, s: x.scatter(d, i, value=1.5), _scatter_case,
         lambda x, d, i, s: np_scatter(x, d, i, 1.5), id="scatter-value", nograd=(3,)),
    Spec("scatter_reduce", lambda x, d, i, s, red, inc: cr.scatter_reduce(
        x, d, i, s, red, include_self=inc), _scatter_reduce_case, np_scatter_reduce,
         id="scatter_reduce", gradgrad=True),
    Spec("scatter_reduce", lambda x, d, i, s, red, inc: x.scatter(d, i, s, reduce="add"),
         _scatter_reduce_case, lambda x, d, i, s, red, inc: np_scatter_reduce(
             x, d, i, s, "sum", True), id="scatter-reduce-add"),
    Spec("index_add", lambda x, d, i, s, a: cr.index_add(x, d, i, s, alpha=a), _index_add_case,
         np_index_add, id="index_add-public",
         gradgrad=True),
    Spec("index_add", lambda x, v, i, j: x.index_put((i, j), v, accumulate=True),
         _index_put_case, np_index_put_acc, id="index_put-accumulate", gradgrad=True),
]
