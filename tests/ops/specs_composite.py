"""Gradcheck specs for the public functions composed from primitives (scalar arithmetic,
statistics, activations, shape functions, indexing, joins, matrix products)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from specs import (
    Spec,
    away,
    dim_of,
    dims_of,
    distinct,
    np_axes,
    np_erf,
    np_log_softmax,
    np_sigmoid,
    np_softmax,
    rand,
    shape,
)

import chainrule as cr

R = np.random.Generator


def one(make: Any) -> Any:
    """``make(r, shape)`` as a spec's ``make`` returning one array of a random shape."""
    return lambda r: [make(r, shape(r))]


def with_dim(r: R, min_dims: int = 1, make: Any = rand) -> list[Any]:
    s = shape(r, min_dims)
    return [make(r, s), dim_of(r, s)]


def with_dims(r: R, make: Any = rand) -> list[Any]:
    s = shape(r)
    return [make(r, s), dims_of(r, s), bool(r.random() < 0.5)]


def _maxdim_case(r: R) -> list[Any]:
    s = shape(r, 1)
    return [distinct(r, s), dim_of(r, s), bool(r.random() < 0.5)]


def _prod_zeros(r: R) -> list[Any]:
    s = shape(r, 1)
    x = rand(r, s)
    flat = x.reshape(-1)
    flat[r.choice(flat.size, int(r.integers(1, 3)) if flat.size > 1 else 1)] = 0.0
    return [x, dims_of(r, s)]


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


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
    Spec("add", lambda x, a: x.add(x * 2, alpha=a), lambda r: [rand(r, shape(r)), -0.5],
         lambda x, a: x + a * 2 * x, id="add-alpha"),
    Spec("mul", cr.square, one(rand), np.square, id="square"),
    Spec("div", cr.reciprocal, one(_nz), np.reciprocal, id="reciprocal"),
    # statistics (mean, logsumexp, var, std, norm: derived from the op table)
    Spec("amax", lambda x: x.norm(p=float("inf")), one(distinct),
         lambda x: np.abs(x).max(), id="norm-inf"),
    Spec("softmax", lambda x: x.softmax(-1), lambda r: [rand(r, shape(r, 1)) * 30],
         lambda x: np_softmax(x, -1), id="softmax-large-logits"),
    Spec("log_softmax", lambda x: x.log_softmax(0), lambda r: [rand(r, shape(r, 1)) * 30],
         lambda x: np_log_softmax(x, 0), id="log_softmax-large-logits"),
    # activations
    Spec("sigmoid", cr.silu, one(rand), lambda x: x * np_sigmoid(x), id="silu", gradgrad=True),
    Spec("gelu", cr.gelu, one(rand), lambda x: 0.5 * x * (1 + np_erf(x / math.sqrt(2))),
         id="gelu", gradgrad=True),
    Spec("gelu", lambda x: cr.gelu(x, approximate="tanh"), one(rand), _gelu_tanh,
         id="gelu-tanh", gradgrad=True),
    Spec("softplus", cr.softplus, one(lambda r, s: rand(r, s) * 15), lambda x: np.logaddexp(0, x),
         id="softplus-default", fwd_atol=1e-8),
    # shapes (the others: derived from the op table)
    Spec("reshape", lambda x: x.view(-1), one(rand), lambda x: x.reshape(-1), id="view"),
    Spec("reshape", lambda x: x.unflatten(1, (2, 3)), lambda r: [rand(r, (2, 6))],
         lambda x: x.reshape(2, 2, 3), id="unflatten"),
    Spec("permute", lambda x: x.T, one(rand), lambda x: x.T, id="T"),
    Spec("permute", lambda x: x.mT, lambda r: [rand(r, shape(r, 2))],
         lambda x: np.swapaxes(x, -1, -2), id="mT"),
    Spec("flip", lambda x: x.flip((0, -1)), lambda r: [rand(r, shape(r, 2))],
         lambda x: np.flip(x, (0, -1)), id="flip-two-dims"),
    Spec("roll", lambda x: x.roll((1, -2), (0, 1)), lambda r: [rand(r, shape(r, 2))],
         lambda x: np.roll(x, (1, -2), (0, 1)), id="roll-two-dims"),
    # indexing and joins
    Spec("getitem", lambda x: x[1:, None, ..., -1], lambda r: [rand(r, (3, 2, 4))],
         lambda x: x[1:, None, ..., -1], id="index-slice-none-ellipsis"),
    Spec("getitem", lambda x, i: x[cr.tensor(i)], lambda r: [rand(r, (4, 2)),
                                                            r.integers(0, 4, 6)],
         lambda x, i: x[i], id="index-int-tensor-duplicates"),
    Spec("getitem", lambda x: x[x > 0], one(rand), lambda x: x[x > 0], id="index-bool-mask"),
    Spec("getitem", lambda x: x[[0, 0, 1]], lambda r: [rand(r, (2, 3))],
         lambda x: x[[0, 0, 1]], id="index-list"),
    Spec("cat", lambda a, b: cr.stack([a, b], -1), lambda r: (lambda s: [rand(r, s), rand(r, s)])(
        shape(r)), lambda a, b: np.stack([a, b], -1), id="stack"),
    # max/min with dim, prod with zeros, cumsum
    Spec("gather", lambda x, d, k: x.max(d, keepdim=k).values, _maxdim_case,
         lambda x, d, k: np.max(x, d, keepdims=k), id="max-dim"),
    Spec("gather", lambda x, d, k: x.min(d, keepdim=k).values, _maxdim_case,
         lambda x, d, k: np.min(x, d, keepdims=k), id="min-dim"),
    Spec("amax", lambda x: x.max(), one(distinct), np.max, id="max-all"),
    Spec("prod", lambda x, d: x.prod(d), _prod_zeros,
         lambda x, d: np.prod(x, axis=np_axes(d)), id="prod-with-zeros"),
    Spec("cumprod", lambda x, d: x.cumprod(d), lambda r: (lambda x: [x, dim_of(r, x.shape)])(
        _prod_zeros(r)[0]), lambda x, d: np.cumprod(x, d), id="cumprod-with-zeros",
         gradgrad=True),
    Spec("cumsum", lambda x: x.cumsum(-1), lambda r: [rand(r, shape(r, 1))],
         lambda x: np.cumsum(x, -1), id="cumsum-last"),
]
