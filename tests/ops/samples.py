"""The sample generators the op table's entries name (``Entry.samples``): each draws an op's
whole argument list as its public function takes it: tensors as float64 arrays (the k-th from
the entry's ``domain[k]``, or its last domain) and integer index arrays, then dims, shifts and
the like. The list is flat, every array at the top: ``seq(a, b)`` marks arguments that are one
sequence (cat's tensors, index_put's indices), ``kw(name, value)`` a keyword argument, and
``call(fn, args)`` calls ``fn`` with them. The gradcheck matrix (``specs_table.py``), the
forward-mode matrix (``tests/func/op_specs.py``) and the batching matrix
(``tests/func/test_vmap.py``) all draw from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from reference_scatter import unique_index
from specs import bshapes, dim_of, dims_of, shape
from specs_conv import conv_geometry, out_size, pool_geometry
from specs_layers import geometry, pool_geometry_nd

from chainrule.ops.table import Domain, Entry

Sample = Callable[[np.random.Generator, Entry], list[Any]]


@dataclass(frozen=True)
class Seq:
    """In a drawn argument list: the next ``size`` arguments are one sequence argument."""

    size: int


@dataclass(frozen=True)
class Kw:
    """In a drawn argument list: the next argument is passed as the keyword ``name``."""

    name: str


def seq(*items: Any) -> list[Any]:
    """``items`` as one sequence argument, its arrays kept at the top of the list."""
    return [Seq(len(items)), *items]


def kw(name: str, value: Any) -> list[Any]:
    """``value`` as the keyword argument ``name``."""
    return [Kw(name), value]


def call(fn: Callable[..., Any], args: Any) -> Any:
    """``fn`` called with a drawn argument list, its ``seq`` and ``kw`` marks resolved."""
    pos: list[Any] = []
    named: dict[str, Any] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if isinstance(a, Seq):
            pos.append(tuple(args[i + 1:i + 1 + a.size]))
            i += 1 + a.size
        elif isinstance(a, Kw):
            named[a.name] = args[i + 1]
            i += 2
        else:
            pos.append(a)
            i += 1
    return fn(*pos, **named)


def _domain(entry: Entry, k: int) -> Domain:
    return entry.domain[min(k, len(entry.domain) - 1)]


def _elementwise(r: np.random.Generator, e: Entry) -> list[Any]:
    """One input per domain, in mutually broadcastable shapes."""
    return [d.sample(r, s) for d, s in zip(e.domain, bshapes(r, len(e.domain)))]


def _reduction(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, keepdim)``, ``dim`` None, one dim or several."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dims_of(r, s), bool(r.random() < 0.5)]


def _parameter(low: float, high: float, *choices: float) -> Sample:
    """``fn(input, p)``: ``p`` one of ``choices``, or uniform on [low, high)."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        p = float(r.choice(choices)) if choices else float(r.uniform(low, high))
        return [_domain(e, 0).sample(r, shape(r)), p]

    return make


def _scalar_other(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, other)`` with ``other`` a Python float from the second domain."""
    return [_domain(e, 0).sample(r, shape(r)), float(_domain(e, 1).sample(r, ()))]


def _scaled_other(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, other, alpha=...)`` of broadcastable shapes."""
    return [*_elementwise(r, e), *kw("alpha", float(r.uniform(-2, 2)))]


def _gelu_tanh(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, approximate='tanh')``."""
    return [_domain(e, 0).sample(r, shape(r)), *kw("approximate", "tanh")]


def _softplus(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, beta, threshold)``."""
    return [_domain(e, 0).sample(r, shape(r)), float(r.choice([0.5, 1.0, 2.0])),
            float(r.choice([1.0, 20.0]))]


def _bounds(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, min, max)``, scalar bounds from the bounds' domains, either one at times
    None."""
    lo, hi = (float(_domain(e, k).sample(r, ())) for k in (1, 2))
    lo, hi = [(lo, hi), (None, hi), (lo, None)][int(r.integers(3))]
    return [_domain(e, 0).sample(r, shape(r)), lo, hi]


def _tensor_bounds(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, min, max)``, tensor bounds of shapes that broadcast with the input's."""
    return [_domain(e, k).sample(r, s) for k, s in enumerate(bshapes(r, 3))]


def _condition(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(condition, input, other)`` of broadcastable shapes."""
    sc, sa, sb = bshapes(r, 3)
    return [r.random(sc) < 0.5, _domain(e, 0).sample(r, sa), _domain(e, 1).sample(r, sb)]


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
    """``fn(input, shifts, dims)``, ``dims`` one dim, None (the flattened input) or, with as
    many shifts, two dims."""
    s = shape(r, 1)
    x = _domain(e, 0).sample(r, s)
    if len(s) > 1 and r.random() < 0.3:
        return [x, tuple(int(v) for v in r.integers(-3, 4, 2)), (0, -1)]
    return [x, int(r.integers(-3, 4)), None if r.random() < 0.3 else dim_of(r, s)]


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


def _unique_scatter(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, src)``, no position written twice (overwrites are not
    smooth), ``src`` at times larger than the index."""
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(0, len(s)))
    index = unique_index(r, s, d)
    src = _domain(e, 1).sample(r, tuple(n + int(r.integers(0, 2)) for n in index.shape))
    return [_domain(e, 0).sample(r, s), d, index, src]


def _masked(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, mask, source)``, the mask broadcasting, ``source`` at least as long as the
    input."""
    mask = r.random((3, 4) if r.random() < 0.5 else (4,)) < 0.5
    return [_domain(e, 0).sample(r, (3, 4)), mask,
            _domain(e, 1).sample(r, (int(r.integers(12, 15)),))]


def _squeeze(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim)``, the input with size-1 dims, ``dim`` one dim or None (all)."""
    s = tuple(1 if r.random() < 0.5 else n for n in shape(r, 1))
    return [_domain(e, 0).sample(r, s), None if r.random() < 0.4 else dim_of(r, s)]


def _new_dim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim)`` with ``dim`` a place for a new dim (unsqueeze)."""
    s = shape(r)
    return [_domain(e, 0).sample(r, s), int(r.integers(-len(s) - 1, len(s) + 1))]


def _max_dim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, keepdim)``: one dim, giving (values, indices)."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dim_of(r, s), bool(r.random() < 0.5)]


def _whole(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input)``: the op over the whole input."""
    return [_domain(e, 0).sample(r, shape(r))]


def _unflatten(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, sizes)``: a dim of 6 split in two, at times with a -1."""
    s = list(shape(r, 0, 2))
    d = int(r.integers(0, len(s) + 1))
    s.insert(d, 6)
    sizes = [(2, 3), (3, -1), (6, 1), (1, 2, 3)][int(r.integers(4))]
    return [_domain(e, 0).sample(r, tuple(s)), d - len(s) if r.random() < 0.3 else d, sizes]


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


def _statistic(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, correction, keepdim)`` over at least 3 elements (var, std)."""
    s = (*shape(r, 0, 2), 3)
    d: Any = [None, -1, (0, -1) if len(s) > 1 else -1][int(r.integers(3))]
    return [_domain(e, 0).sample(r, s), d, int(r.integers(0, 2)), bool(r.random() < 0.5)]


def _norm(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, p, dim, keepdim)`` for p of 2, 1, 3, inf and "fro"."""
    s = shape(r)
    p = [2, 1, 3, float("inf"), "fro"][int(r.integers(5))]
    return [_domain(e, 0).sample(r, s), p, dims_of(r, s), bool(r.random() < 0.5)]


def _matrix(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input)`` on a tensor of at most 2 dims (t)."""
    return [_domain(e, 0).sample(r, shape(r, 0, 2))]


def _reshape(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, shape)``, the shape with a -1."""
    return [_domain(e, 0).sample(r, (*shape(r, 0, 2), 2)), (-1, 2)]


def _broadcast(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, shape)``: the input with size-1 dims, ``shape`` one dim longer."""
    s = shape(r, 1, 2)
    return [_domain(e, 0).sample(r, tuple(1 if r.random() < 0.5 else n for n in s)), (2, *s)]


def _repeats(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, repeats)``, as many repeats as dims or more (repeat, tile)."""
    s = shape(r, 0, 2)
    return [_domain(e, 0).sample(r, s), tuple(int(v) for v in r.integers(1, 3, len(s) + 1))]


def _dim_range(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, start_dim, end_dim)``, ``start_dim`` ≤ ``end_dim``, at times negative."""
    a, b = sorted(int(v) for v in r.integers(0, 4, 2))
    return [_domain(e, 0).sample(r, (2, 1, 3, 2)), a - 4 * int(r.integers(2)), b]


def _split(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, split_size_or_sections, dim)``, sections with an empty one."""
    s = (*shape(r, 0, 2), 5)
    size: Any = int(r.integers(1, 6)) if r.random() < 0.5 else [2, 0, 3]
    return [_domain(e, 0).sample(r, s), size, -1]


def _chunks(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, chunks, dim)``, the chunks at times not dividing the dim."""
    return [_domain(e, 0).sample(r, (5, 2)), int(r.integers(1, 6)), 0]


def _mask(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, mask, value)``."""
    s = shape(r)
    return [_domain(e, 0).sample(r, s), r.random(s) < 0.5, float(r.uniform(-1, 1))]


def _pad_constant(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, pad, "constant", value)``, widths for one dim or more."""
    s = shape(r, 1, 3)
    pad = [int(v) for v in r.integers(0, 3, 2 * int(r.integers(1, len(s) + 1)))]
    return [_domain(e, 0).sample(r, s), pad, "constant", float(r.uniform(-1, 1))]


def _pad_modes(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, pad, mode)`` for 'reflect', 'replicate', 'circular' over 1 to 3 dims."""
    mode = ["reflect", "replicate", "circular"][int(r.integers(0, 3))]
    k = int(r.integers(1, 4))
    s = tuple(int(n) for n in r.integers(2, 4, k + int(r.integers(1, 3))))
    limit = {"reflect": 0, "replicate": 2, "circular": 1}[mode]  # widths up to n-1, n+1, n
    pad = [int(r.integers(0, s[-1 - i // 2] + limit)) for i in range(2 * k)]
    return [_domain(e, 0).sample(r, s), pad, mode]


def _matmul(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, other)``: matrices with batch dims that broadcast."""
    sa, sb = bshapes(r, 2, 0, 2)
    n, m, k = (int(v) for v in r.integers(1, 4, 3))
    return [_domain(e, 0).sample(r, (*sa, n, k)), _domain(e, 1).sample(r, (*sb, k, m))]


def _matmul_ranks(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, other)`` of mixed ranks: vectors, matrices, batches."""
    k = int(r.integers(1, 4))
    left = [(k,), (2, k), (3, 2, k)][int(r.integers(3))]
    right = [(k,), (k, 2), (3, k, 2), (1, k, 2)][int(r.integers(4))]
    return [_domain(e, 0).sample(r, left), _domain(e, 1).sample(r, right)]


def _matrices(batch: bool) -> Sample:
    """``fn(input, mat2)``: (n, k) @ (k, m), or with a batch dim in front of both."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        b = (int(r.integers(1, 4)),) if batch else ()
        n, m, k = (int(v) for v in r.integers(1, 4, 3))
        return [_domain(e, 0).sample(r, (*b, n, k)), _domain(e, 1).sample(r, (*b, k, m))]

    return make


def _vectors(same: bool) -> Sample:
    """``fn(input, other)`` of two vectors, of one length when ``same`` (dot)."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        n, m = (int(v) for v in r.integers(1, 5, 2))
        return [_domain(e, 0).sample(r, (n,)), _domain(e, 1).sample(r, (n if same else m,))]

    return make


def _linear(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, weight, bias)``, the bias at times left out."""
    lead = shape(r, 0, 2)
    i, o = int(r.integers(1, 4)), int(r.integers(1, 4))
    args = [_domain(e, 0).sample(r, (*lead, i)), _domain(e, 1).sample(r, (o, i))]
    return args + [_domain(e, 2).sample(r, (o,))] if r.random() < 0.5 else args


def _equation(cases: list[tuple[str, list[tuple[int, ...]]]]) -> Sample:
    """``fn(equation, *operands)`` for one of ``cases``."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        eq, shapes = cases[int(r.integers(len(cases)))]
        return [eq, *[_domain(e, k).sample(r, s) for k, s in enumerate(shapes)]]

    return make


EINSUM_PRODUCTS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("i,i->", [(4,), (4,)]), ("ij->ji", [(2, 3)]), ("ij,k->ijk", [(2, 2), (3,)]),
    ("ijk,jl,lk->il", [(2, 3, 2), (3, 2), (2, 2)]), ("ij->j", [(3, 2)]), ("i,j->", [(2,), (3,)]),
    ("...ij,...jk", [(2, 2, 3), (3, 2)]),
]
EINSUM_DIAGONALS = [
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("bii->bi", [(2, 3, 3)]), ("iji->j", [(2, 3, 2)]),
    ("iii->i", [(2, 2, 2)]), ("bij,bjj->bi", [(2, 3, 2), (2, 2, 2)]),
    ("...ii->...i", [(2, 2, 3, 3)]),
]
"""Repeated labels: diagonals."""

def _conv(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, weight, bias, stride, padding, dilation, groups)``, the bias at times None."""
    q = conv_geometry(r)
    x = _domain(e, 0).sample(r, (q["n"], q["c"], *q["hw"]))
    w = _domain(e, 1).sample(r, (q["o"], q["c"] // q["g"], *q["k"]))
    b = _domain(e, 2).sample(r, (q["o"],)) if r.integers(0, 2) else None
    return [x, w, b, q["s"], q["p"], q["d"], q["g"]]


def _conv1d(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, weight, None, stride, padding, dilation)`` in one spatial dim."""
    return [_domain(e, 0).sample(r, (2, 2, 9)), _domain(e, 1).sample(r, (3, 2, 3)), None, 2, 1, 2]


def _conv_transpose(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, weight, bias, stride, padding, output_padding, groups, dilation)``."""
    q = conv_geometry(r, transposed=True)
    y = _domain(e, 0).sample(r, (q["n"], q["c"], *q["hw"]))
    w = _domain(e, 1).sample(r, (q["c"], q["o"] // q["g"], *q["k"]))
    b = _domain(e, 2).sample(r, (q["o"],)) if r.integers(0, 2) else None
    return [y, w, b, q["s"], q["p"], q["op"], q["g"], q["d"]]


def _unfold(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, kernel_size, dilation, padding, stride)``."""
    q = conv_geometry(r)
    return [_domain(e, 0).sample(r, (q["n"], q["c"], *q["hw"])), q["k"], q["d"], q["p"], q["s"]]


def _fold(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, output_size, kernel_size, dilation, padding, stride)``."""
    q = conv_geometry(r)
    ho = [out_size(h, k, s, p, d)
          for h, k, s, p, d in zip(q["hw"], q["k"], q["s"], q["p"], q["d"])]
    cols = _domain(e, 0).sample(r, (q["n"], q["c"] * q["k"][0] * q["k"][1], ho[0] * ho[1]))
    return [cols, q["hw"], q["k"], q["d"], q["p"], q["s"]]


def _max_pool(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, kernel_size, stride, padding, dilation)``."""
    q = pool_geometry(r)
    return [_domain(e, 0).sample(r, q["shape"]), q["k"], q["s"], q["p"], q["d"]]


def _avg_pool(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, kernel_size, stride, padding, False, count_include_pad)``."""
    q = pool_geometry(r)
    return [_domain(e, 0).sample(r, q["shape"]), q["k"], q["s"], q["p"], False,
            bool(r.integers(0, 2))]


def _conv_nd(dims: int, transposed: bool = False) -> Sample:
    """``fn(input, weight, bias, stride, padding, dilation, groups)`` in ``dims`` spatial dims
    or, ``transposed``, ``fn(input, weight, bias, stride, padding, output_padding, groups,
    dilation)``; the bias at times None."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        q = geometry(r, transposed, dims)
        x = _domain(e, 0).sample(r, (q["n"], q["c"], *q["size"]))
        shape_w = (q["c"], q["o"] // q["g"]) if transposed else (q["o"], q["c"] // q["g"])
        w = _domain(e, 1).sample(r, (*shape_w, *q["k"]))
        b = _domain(e, 2).sample(r, (q["o"],)) if r.integers(0, 2) else None
        if transposed:
            return [x, w, b, q["s"], q["p"], q["op"], q["g"], q["d"]]
        return [x, w, b, q["s"], q["p"], q["d"], q["g"]]

    return make


def _max_pool_nd(dims: int) -> Sample:
    """``fn(input, kernel_size, stride, padding, dilation)`` in ``dims`` spatial dims."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        q = pool_geometry_nd(r, dims)
        return [_domain(e, 0).sample(r, q["shape"]), q["k"], q["s"], q["p"], q["d"]]

    return make


def _avg_pool_nd(dims: int) -> Sample:
    """``fn(input, kernel_size, stride, padding, False, count_include_pad)``."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        q = pool_geometry_nd(r, dims)
        return [_domain(e, 0).sample(r, q["shape"]), q["k"], q["s"], q["p"], False,
                bool(r.integers(0, 2))]

    return make


def _adaptive(dims: int) -> Sample:
    """``fn(input, output_size)``: output sizes smaller, equal or larger than the input's."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        size = tuple(int(v) for v in r.integers(1, 7 if dims < 3 else 5, dims))
        out = tuple(int(v) for v in r.integers(1, 5 if dims < 3 else 4, dims))
        x = _domain(e, 0).sample(r, (int(r.integers(1, 3)), 2, *size))
        return [x, out[0] if dims == 1 else out]

    return make


def _scatter_reduce(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, src, reduce, include_self=...)`` for every ``reduce``, the index
    with repeats."""
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(0, len(s)))
    idx_shape = tuple(int(r.integers(1, 4)) if k == d else n for k, n in enumerate(s))
    reduce = ["sum", "prod", "mean", "amax", "amin"][int(r.integers(0, 5))]
    return [_domain(e, 0).sample(r, s), d, r.integers(0, s[d], idx_shape),
            _domain(e, 1).sample(r, idx_shape), reduce,
            *kw("include_self", bool(r.integers(0, 2)))]


def _scatter_value(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, value=...)``."""
    x, d, index, _ = _unique_scatter(r, e)
    return [x, d, index, *kw("value", float(r.uniform(-2, 2)))]


def _scatter_reduce_kw(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, src, reduce=...)``: 'add' or 'multiply', the index with
    repeats."""
    x, d, index, src = _scatter_reduce(r, e)[:4]
    return [x, d, index, src, *kw("reduce", ["add", "multiply"][int(r.integers(0, 2))])]


def _index_add(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index, source, alpha=...)``, a 1-D index with repeats."""
    s = tuple(int(n) for n in r.integers(1, 4, int(r.integers(1, 4))))
    d = int(r.integers(-len(s), len(s)))
    index = r.integers(0, s[d], int(r.integers(1, 5)))
    source_shape = tuple(len(index) if k == d % len(s) else n for k, n in enumerate(s))
    return [_domain(e, 0).sample(r, s), d, index, _domain(e, 1).sample(r, source_shape),
            *kw("alpha", float(r.uniform(-2, 2)))]


def _index_put(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, indices, values, accumulate)`` on a (4, 3) input, ``values`` broadcasting;
    repeated positions only when accumulating (an overwrite is not smooth)."""
    accumulate = bool(r.integers(0, 2))
    k = int(r.integers(1, 6))
    rows, cols = np.divmod(r.choice(12, k, replace=accumulate), 3)
    values = _domain(e, 1).sample(r, [(k,), (1,), ()][int(r.integers(0, 3))])
    return [_domain(e, 0).sample(r, (4, 3)), *seq(rows, cols), values, accumulate]


def _cat(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(tensors, dim)``: one to three tensors of sizes that differ along ``dim``."""
    s = shape(r, 1)
    d = int(r.integers(len(s)))
    xs = [_domain(e, 0).sample(r, (*s[:d], int(k), *s[d + 1:]))
          for k in r.integers(1, 3, int(r.integers(1, 4)))]
    return [*seq(*xs), d - len(s) if r.random() < 0.3 else d]


def _stack(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(tensors, dim)``: one to three tensors of one shape, ``dim`` a new dim's place."""
    s = shape(r)
    xs = [_domain(e, 0).sample(r, s) for _ in range(int(r.integers(1, 4)))]
    return [*seq(*xs), int(r.integers(-len(s) - 1, len(s) + 1))]


def _square(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(A)``: (batches of) square matrices of size 1 to 3."""
    n = int(r.integers(1, 4))
    return [_domain(e, 0).sample(r, (*[(), (2,), (2, 1)][int(r.integers(3))], n, n))]


def _movedim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, source, destination)``: one dim or several, at times negative."""
    s = shape(r, 1)
    k = int(r.integers(1, len(s) + 1))
    src, dst = ([int(v) - len(s) * int(r.random() < 0.3) for v in r.permutation(len(s))[:k]]
                for _ in range(2))
    return [_domain(e, 0).sample(r, s), *((src[0], dst[0]) if k == 1 and r.random() < 0.5
                                          else (tuple(src), tuple(dst)))]


def _narrow(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, start, length)``, ``start`` at times negative, ``length`` at times 0."""
    s = shape(r, 1)
    d = dim_of(r, s)
    start = int(r.integers(0, s[d]))
    length = int(r.integers(0, s[d] - start + 1))
    return [_domain(e, 0).sample(r, s), d, start - s[d] * int(r.random() < 0.3), length]


def _diagonal_dims(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, offset, dim1, dim2)``, two distinct dims."""
    s = shape(r, 2)
    d1, d2 = (int(v) for v in r.permutation(len(s))[:2])
    return [_domain(e, 0).sample(r, s), int(r.integers(-2, 3)), d1, d2 - len(s)]


def _diag(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, diagonal)``: a vector (to a matrix) or a matrix (to its diagonal)."""
    s = shape(r, 1, 2)
    return [_domain(e, 0).sample(r, s), int(r.integers(-2, 3))]


def _matrix2d(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input)`` on one matrix (trace)."""
    return [_domain(e, 0).sample(r, shape(r, 2, 2))]


def _addmm(batch: bool) -> Sample:
    """``fn(input, mat1, mat2, beta=..., alpha=...)``, ``input`` broadcasting to the product;
    with ``batch``, batches of matrices."""
    def make(r: np.random.Generator, e: Entry) -> list[Any]:
        b = (int(r.integers(1, 3)),) if batch else ()
        n, k, m = (int(v) for v in r.integers(1, 4, 3))
        out = (*b, n, m)
        bias = out[int(r.integers(0, len(out) + 1)):]
        return [_domain(e, 0).sample(r, tuple(1 if r.random() < 0.3 else v for v in bias)),
                _domain(e, 1).sample(r, (*b, n, k)), _domain(e, 2).sample(r, (*b, k, m)),
                *kw("beta", float(r.uniform(-2, 2))), *kw("alpha", float(r.uniform(-2, 2)))]

    return make


def _cdist(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(x1, x2, p)``: (B, P, M) and (B, R, M) or without B, p of 1, 2 or 3."""
    b = [(), (2,)][int(r.integers(2))]
    p_, r_, m = (int(v) for v in r.integers(1, 4, 3))
    return [_domain(e, 0).sample(r, (*b, p_, m)), _domain(e, 1).sample(r, (*b, r_, m)),
            float(r.choice([1.0, 2.0, 3.0]))]


def _sort(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, descending)``."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), dim_of(r, s), bool(r.random() < 0.5)]


def _topk(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, k, dim, largest)``."""
    s = shape(r, 1)
    d = dim_of(r, s)
    return [_domain(e, 0).sample(r, s), int(r.integers(1, s[d] + 1)), d, bool(r.random() < 0.5)]


def _kthvalue(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, k, dim, keepdim)``."""
    s = shape(r, 1)
    d = dim_of(r, s)
    return [_domain(e, 0).sample(r, s), int(r.integers(1, s[d] + 1)), d, bool(r.random() < 0.5)]


def _repeat_interleave(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, repeats, dim)``, ``dim`` None (the flattened input) at times."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), int(r.integers(1, 4)),
            None if r.random() < 0.3 else dim_of(r, s)]


def _meshgrid(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(*tensors, indexing=...)``: one to three vectors."""
    xs = [_domain(e, 0).sample(r, (int(r.integers(1, 4)),)) for _ in range(int(r.integers(1, 4)))]
    return [*xs, *kw("indexing", ["ij", "xy"][int(r.integers(2))])]


def _tensors(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(tensors)``: one to three tensors of one shape of up to 3 dims (hstack, vstack)."""
    s = shape(r, 0, 3)
    return [*seq(*(_domain(e, 0).sample(r, s) for _ in range(int(r.integers(1, 4)))))]


def _take(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, index)``, the index into the flattened input, of any shape."""
    s = shape(r, 1)
    return [_domain(e, 0).sample(r, s), r.integers(0, int(np.prod(s)), shape(r, 0, 2))]


def _along_dim(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, indices, dim)``, the other dims broadcasting (take_along_dim)."""
    s = shape(r, 1, 3, 4)
    d = dim_of(r, s)
    idx = tuple(int(r.integers(1, 4)) if i == d % len(s) else (1 if r.random() < 0.3 else n)
                for i, n in enumerate(s))
    return [_domain(e, 0).sample(r, s), r.integers(0, s[d], idx), d]


def _select_index(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, dim, index)`` for one index of ``dim`` (select)."""
    s = shape(r, 1)
    d = dim_of(r, s)
    return [_domain(e, 0).sample(r, s), d, int(r.integers(-s[d], s[d]))]


def _diff(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, n, dim)``: up to two differences along a dim of at least three."""
    s = list(shape(r, 1, 3))
    d = dim_of(r, s)
    s[d] = int(r.integers(3, 5))
    return [_domain(e, 0).sample(r, tuple(s)), int(r.integers(1, 3)), d]


def _rotation(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, k, dims)`` for a quarter-turn count and two distinct dims (rot90)."""
    s = shape(r, 2, 3)
    a, b = (int(v) for v in r.permutation(len(s))[:2])
    return [_domain(e, 0).sample(r, s), int(r.integers(-2, 5)), (a, b)]


def _tensordot(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(a, b, dims)``: ``dims`` trailing dims of a contracted with b's leading ones."""
    k = tuple(int(v) for v in r.integers(1, 4, int(r.integers(0, 3))))
    a = (*(int(v) for v in r.integers(1, 4, int(r.integers(0, 2)))), *k)
    b = (*k, *(int(v) for v in r.integers(1, 4, int(r.integers(0, 2)))))
    return [_domain(e, 0).sample(r, a), _domain(e, 1).sample(r, b), len(k)]


def _mv(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(matrix, vector)``."""
    n, m = (int(v) for v in r.integers(1, 4, 2))
    return [_domain(e, 0).sample(r, (n, m)), _domain(e, 1).sample(r, (m,))]


def _cross(r: np.random.Generator, e: Entry) -> list[Any]:
    """``fn(input, other, dim)`` with 3-vectors along ``dim``."""
    s = list(shape(r, 0, 2))
    d = int(r.integers(len(s) + 1))
    s.insert(d, 3)
    return [_domain(e, 0).sample(r, tuple(s)), _domain(e, 1).sample(r, tuple(s)), d]


SAMPLES: dict[str, Sample] = {
    "elementwise": _elementwise, "reduction": _reduction,
    # parameters of elementwise ops
    "slope": _parameter(0.0, 0.5), "alpha": _parameter(0.5, 2.0), "softplus": _softplus,
    "scalar_other": _scalar_other, "scaled_other": _scaled_other, "gelu_tanh": _gelu_tanh,
    "bounds": _bounds, "tensor_bounds": _tensor_bounds, "condition": _condition,
    # dims, permutations, indices
    "dim": _dim, "dims": _dims, "permutation": _permutation, "roll": _roll, "gather": _gather,
    "scatter": _scatter, "squeeze": _squeeze, "new_dim": _new_dim, "two_dims": _two_dims,
    "index_select": _index_select, "diagonal": _diagonal, "unique_scatter": _unique_scatter,
    "masked": _masked, "max_dim": _max_dim, "whole": _whole,
    # shapes
    "reshape": _reshape, "broadcast": _broadcast, "repeats": _repeats, "dim_range": _dim_range,
    "split": _split, "chunks": _chunks, "mask": _mask, "pad_constant": _pad_constant,
    "unflatten": _unflatten, "matrix": _matrix,
    "pad_modes": _pad_modes,
    # statistics
    "statistic": _statistic, "norm": _norm,
    # products
    "matmul": _matmul, "matmul_ranks": _matmul_ranks, "mm": _matrices(False),
    "bmm": _matrices(True), "outer": _vectors(False), "dot": _vectors(True), "linear": _linear,
    "einsum": _equation(EINSUM_PRODUCTS), "einsum_diagonal": _equation(EINSUM_DIAGONALS),
    # convolution and pooling geometry
    "conv": _conv, "conv1d": _conv1d, "conv_transpose": _conv_transpose, "unfold": _unfold,
    "fold": _fold, "max_pool": _max_pool, "avg_pool": _avg_pool,
    "conv3d": _conv_nd(3), "conv_transpose1d": _conv_nd(1, True),
    "conv_transpose3d": _conv_nd(3, True), "max_pool1d": _max_pool_nd(1),
    "max_pool3d": _max_pool_nd(3), "avg_pool1d": _avg_pool_nd(1), "avg_pool3d": _avg_pool_nd(3),
    "adaptive1d": _adaptive(1), "adaptive2d": _adaptive(2), "adaptive3d": _adaptive(3),
    # indexed writes and joins
    "scatter_reduce": _scatter_reduce, "scatter_value": _scatter_value,
    "scatter_reduce_kw": _scatter_reduce_kw, "index_add": _index_add, "index_put": _index_put,
    "cat": _cat, "stack": _stack,
    # matrices
    "square": _square, "diagonal_dims": _diagonal_dims, "diag": _diag, "matrix2d": _matrix2d,
    "addmm": _addmm(False), "baddbmm": _addmm(True), "cdist": _cdist,
    # moving, selecting, sorting, tiling
    "movedim": _movedim, "narrow": _narrow, "sort": _sort, "topk": _topk, "kthvalue": _kthvalue,
    "repeat_interleave": _repeat_interleave, "meshgrid": _meshgrid,
    # NumPy-style joins, selections and products
    "tensors": _tensors, "take": _take, "along_dim": _along_dim,
    "select": _select_index, "diff": _diff, "rotation": _rotation, "tensordot": _tensordot,
    "mv": _mv, "cross": _cross,
}


def draw(entry: Entry, r: np.random.Generator, key: str = "") -> list[Any]:
    """One argument list for ``entry`` from its generator ``key`` (by default its first), to
    be called with ``call``."""
    return SAMPLES[key or entry.samples[0]](r, entry)


def redraw(entry: Entry, args: list[Any], r: np.random.Generator) -> list[Any]:
    """``args`` with new values for its float64 arrays from the entry's domains, the rest (shapes,
    dims, indices) kept: samples that differ in values only, for batching."""
    out, k = [], 0
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype == np.float64:
            a, k = _domain(entry, k).sample(r, a.shape), k + 1
        out.append(a)
    return out
