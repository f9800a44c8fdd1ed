"""Gradcheck specs beyond the op table's: the operators (a Python scalar on either side,
``x.T``, ``x.mT``, ``x[...]``), which have no table entry, and inputs the entries' domains never
draw (logits of ±60, softplus past its threshold, products through exact zeros)."""

from __future__ import annotations

from typing import Any

import numpy as np
from specs import (
    Spec,
    away,
    dim_of,
    dims_of,
    np_axes,
    np_log_softmax,
    np_softmax,
    rand,
    shape,
)

import chainrule as cr

R = np.random.Generator


def one(make: Any) -> Any:
    """``make(r, shape)`` as a spec's ``make`` returning one array of a random shape."""
    return lambda r: [make(r, shape(r))]


def _prod_zeros(r: R) -> list[Any]:
    s = shape(r, 1)
    x = rand(r, s)
    flat = x.reshape(-1)
    flat[r.choice(flat.size, int(r.integers(1, 3)) if flat.size > 1 else 1)] = 0.0
    return [x, dims_of(r, s)]


def _pos(r: R, s: tuple[int, ...]) -> np.ndarray:
    return rand(r, s, 0.3, 2.0)


def _nz(r: R, s: tuple[int, ...]) -> np.ndarray:
    return away(r, s, margin=0.3)


SPECS: list[Spec] = [
    # scalars on either side
    Spec("sub", lambda x: 2.5 - x, one(rand), lambda x: 2.5 - x, id="rsub-scalar"),
    Spec("div", lambda x: 1.5 / x, one(_nz), lambda x: 1.5 / x, id="rdiv-scalar",
         gradgrad=True),
    Spec("div", lambda x: x / 3.0, one(rand), lambda x: x / 3.0, id="div-scalar"),
    Spec("pow", lambda x: x ** 3, one(rand), lambda x: x ** 3, id="pow-int-scalar",
         gradgrad=True),
    Spec("pow", lambda x: x ** 0.5, one(_pos), np.sqrt, id="pow-half"),
    Spec("pow", lambda x: 2.0 ** x, one(rand), lambda x: 2.0 ** x, id="rpow-scalar",
         gradgrad=True),
    # beyond the domains of the table entries
    Spec("softmax", lambda x: x.softmax(-1), lambda r: [rand(r, shape(r, 1)) * 30],
         lambda x: np_softmax(x, -1), id="softmax-large-logits"),
    Spec("log_softmax", lambda x: x.log_softmax(0), lambda r: [rand(r, shape(r, 1)) * 30],
         lambda x: np_log_softmax(x, 0), id="log_softmax-large-logits"),
    Spec("softplus", cr.softplus, one(lambda r, s: rand(r, s) * 15), lambda x: np.logaddexp(0, x),
         id="softplus-default", fwd_atol=1e-8),
    # the operators: transposes and indexing
    Spec("permute", lambda x: x.T, one(rand), lambda x: x.T, id="T"),
    Spec("permute", lambda x: x.mT, lambda r: [rand(r, shape(r, 2))],
         lambda x: np.swapaxes(x, -1, -2), id="mT"),
    Spec("getitem", lambda x: x[1:, None, ..., -1], lambda r: [rand(r, (3, 2, 4))],
         lambda x: x[1:, None, ..., -1], id="index-slice-none-ellipsis"),
    Spec("getitem", lambda x, i: x[cr.tensor(i)], lambda r: [rand(r, (4, 2)),
                                                            r.integers(0, 4, 6)],
         lambda x, i: x[i], id="index-int-tensor-duplicates"),
    Spec("getitem", lambda x: x[x > 0], one(rand), lambda x: x[x > 0], id="index-bool-mask"),
    Spec("getitem", lambda x: x[[0, 0, 1]], lambda r: [rand(r, (2, 3))],
         lambda x: x[[0, 0, 1]], id="index-list"),
    # products through exact zeros
    Spec("prod", lambda x, d: x.prod(d), _prod_zeros,
         lambda x, d: np.prod(x, axis=np_axes(d)), id="prod-with-zeros"),
    Spec("cumprod", lambda x, d: x.cumprod(d), lambda r: (lambda x: [x, dim_of(r, x.shape)])(
        _prod_zeros(r)[0]), lambda x, d: np.cumprod(x, d), id="cumprod-with-zeros",
         gradgrad=True),
]
