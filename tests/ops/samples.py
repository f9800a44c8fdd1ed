"""The sample generators the op table's entries name (``Entry.samples``): each draws an op's
whole argument list, positionally, as its public function takes it: tensors as float64 arrays
(the k-th from the entry's ``domain[k]``, or its last domain) and integer index arrays, then
dims, shifts and the like. The gradcheck matrix (``specs_table.py``), the forward-mode matrix
(``tests/func/op_specs.py``) and the batching matrix (``tests/func/test_vmap.py``) all draw from
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from specs import dim_of, dims_of, shape

from chainrule.ops.table import Domain, Entry

Sample = Callable[[np.random.Generator, Entry], list[Any]]


def _domain(entry: Entry, k: int) -> Domain:
    return entry.domain[min(k, len(entry.domain) - 1)]


def _dim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim)``: cumsum, softmax."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dim_of(r, s)]


def _dims(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dims)``: one dim or a tuple of them (flip)."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dims_of(r, s) or 0]


def _permutation(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dims)`` with ``dims`` a permutation of the input's dims."""
    s = shape(r, 2, 3)
    return [_domain(e, 0).sample(r, s), [int(v) for v in r.permutation(len(s))]]


def _roll(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, shifts, dims)``, ``dims`` one dim or None (the flattened input)."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), int(r.integers(-3, 4)),
            None if r.random() < 0.3 else dim_of(r, s)]


def _gather(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index)``: the index no larger than the input off ``dim``."""
    s = shape(r, 1, 3, 4)
    d = dim_of(r, s)
    idx_shape = tuple(int(r.integers(1, n + 1)) if i != d % len(s) else int(r.integers(1, 5))
                      for i, n in enumerate(s))
    return [_domain(e, 0).sample(r, s), d, r.integers(0, s[d], idx_shape)]


def _scatter(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, src)``: the index no larger than the input, ``src`` maybe
    larger than the index."""
    s = shape(r, 1, 3, 4)
    d = dim_of(r, s)
    idx_shape = tuple(int(r.integers(1, n + 1)) for n in s)
    src_shape = tuple(n + int(r.integers(0, 2)) for n in idx_shape)
    return [_domain(e, 0).sample(r, s), d, r.integers(0, s[d], idx_shape),
            _domain(e, 1).sample(r, src_shape)]


def _squeeze(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim)``, the input with size-1 dims, ``dim`` one dim or None (all)."""
    s = tuple(1 if r.random() < 0.5 else n for n in shape(r, 1))
    return [_domain(e, 0).sample(r, s), None if r.random() < 0.4 else dim_of(r, s)]


def _new_dim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim)`` with ``dim`` a place for a new dim (unsqueeze)."""
    s = shape(r)
    return [_domain(e, 0).sample(r, s), int(r.integers(-len(s) - 1, len(s) + 1))]


def _two_dims(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim0, dim1)``, the two dims equal at times."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dim_of(r, s), dim_of(r, s)]


def _index_select(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index)``, a 1-D index with repeats."""
    s = shape(r, 1)
    d = dim_of(r, s)
    return [_domain(e, 0).sample(r, s), d, r.integers(0, s[d], int(r.integers(1, 5)))]


def _diagonal(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, diagonal)`` on a (batch of) matrices (tril, triu)."""
    return [_domain(e, 0).sample(r, shape(r, 2)), int(r.integers(-1, 2))]


SAMPLES: dict[str, Sample] = {
    "dim": _dim, "dims": _dims, "permutation": _permutation, "roll": _roll, "gather": _gather,
    "scatter": _scatter, "squeeze": _squeeze, "new_dim": _new_dim, "two_dims": _two_dims,
    "index_select": _index_select, "diagonal": _diagonal,
}


def draw(entry: Entry, r: np.random.Generator) -> list[Any]:
    """One argument list for ``entry``."""
    return SAMPLES[entry.samples](r, entry)


def redraw(entry: Entry, args: list[Any], r: np.random.Generator) -> list[Any]:
    """``args`` with new values for its float64 arrays from the entry's domains, the rest (shapes,
    dims, indices) kept: samples that differ in values only, for batching."""
    out, k = [], 0
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            a, k = _domain(entry, k).sample(r, a.shape), k + 1
        out.append(a)
    return out
