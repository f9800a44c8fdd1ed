"""Gradcheck specs for the op registry (``chainrule.autograd.OPS``), and the ``Spec`` type.

A spec says how to build random float64 inputs, how to call chainrule on them and what NumPy
computes for the forward. ``test_gradcheck.py`` collects ``SPECS`` from every ``specs*.py``
module in this directory, so an op family added elsewhere (``ops/conv.py``) ships its own
``specs_conv.py``:

    from specs import Spec, rand

    SPECS = [Spec("conv2d", lambda x, w: cr.nn.functional.conv2d(x, w), ref=my_numpy_conv,
                  make=lambda r: [rand(r, (1, 2, 5, 5)), rand(r, (3, 2, 3, 3))])]

``make(rng)`` returns the positional arguments: float64 arrays become tensors that require
grad (unless listed in ``nograd``), other arrays become constant tensors, anything else is
passed through unchanged (dims, flags). ``ref`` receives the same arguments with arrays in
place of tensors. Every differentiable registered op must appear in some spec's ``ops``.

The specs of the op table's entries are derived from it (``specs_table.py``); the specs
written by hand cover the ops in ``NOT_FROM_TABLE`` and cases beyond the entries' domains. This
file holds the indexing operator's primitives (getitem, and index_add and index_put as ``x[i]``
and ``x[i] = v`` reach them, with slices), cast, the fused cross_entropy primitive and a power
of negative bases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.autograd import OPS

Make = Callable[[np.random.Generator], list[Any]]


@dataclass
class Spec:
    """One gradcheck case: ``fn(*args)`` in chainrule against ``ref(*arrays)`` in NumPy.

    Args:
        ops: registry name(s) of the primitives the case exercises (for the coverage check).
        fn: the chainrule call.
        make: random arguments from a NumPy generator (float64 arrays for grad inputs).
        ref: NumPy forward; None when the output is checked another way.
        id: test id (defaults to the first op name plus a counter).
        nograd: positions of float64 arrays that must not require grad.
        gradgrad: also run gradgradcheck (second derivatives).
        check: extra keyword arguments for gradcheck (eps, atol, rtol).
        fwd_atol: absolute tolerance of the forward comparison.
    """

    ops: str | Sequence[str]
    fn: Callable[..., Any]
    make: Make
    ref: Callable[..., Any] | None = None
    id: str = ""
    nograd: tuple[int, ...] = ()
    gradgrad: bool = False
    check: dict[str, float] = field(default_factory=dict)
    fwd_atol: float = 1e-10

    @property
    def op_names(self) -> tuple[str, ...]:
        return (self.ops,) if isinstance(self.ops, str) else tuple(self.ops)


NOT_FROM_TABLE: dict[str, str] = {
    "getitem": "x[index], the indexing operator: no table entry (tensor_operators.py)",
    "cast": "the table's cast entry has no domain: float32 rounding needs a coarser "
            "finite-difference step than the table's specs take",
    "cross_entropy": "fused loss primitive, reached through F.cross_entropy (nn.functional, "
                     "outside the table)",
    "binary_cross_entropy": "fused loss primitive, reached through F.binary_cross_entropy",
    "layer_norm": "fused layer primitive, reached through F.layer_norm",
    "scaled_dot_product_attention": "fused layer primitive, reached through "
                                    "F.scaled_dot_product_attention",
    **{n: "cr.linalg only (the table names chainrule.*, Tensor and nn.functional exports)"
       for n in ("solve", "cholesky", "qr", "svd", "eigh")},
    **{n: "backward-only primitive: runs inside another op's backward or tangent rule"
       for n in ("conv2d_weight", "conv3d_weight", "max_pool_scatter", "max_pool_gather")},
}
"""The registered differentiable ops whose specs are hand-written, and why. Every other
differentiable op is the primitive of an op-table entry with a test domain, and its specs
(gradcheck, gradgradcheck, forward mode, batching) are derived from that entry."""


# ---- input helpers ----------------------------------------------------------------------------
def shape(r: np.random.Generator, min_dims: int = 0, max_dims: int = 3,
          max_side: int = 3) -> tuple[int, ...]:
    """A small random shape; size-1 dims are common."""
    return tuple(int(n) for n in r.integers(1, max_side + 1, r.integers(min_dims, max_dims + 1)))


def bshapes(r: np.random.Generator, n: int = 2, min_dims: int = 0,
            max_dims: int = 3) -> list[tuple[int, ...]]:
    """``n`` shapes that broadcast together: each drops some leading dims of a common shape
    and turns some of its dims to 1."""
    full = shape(r, min_dims, max_dims)
    out = []
    for _ in range(n):
        s = full[int(r.integers(0, len(full) + 1)) if min_dims == 0 else 0:]
        out.append(tuple(1 if r.random() < 0.3 else k for k in s))
    return out


def rand(r: np.random.Generator, s: tuple[int, ...], lo: float = -2.0,
         hi: float = 2.0) -> np.ndarray:
    """Uniform float64 values in [lo, hi)."""
    return r.uniform(lo, hi, s)


def away(r: np.random.Generator, s: tuple[int, ...], kinks: Sequence[float] = (0.0,),
         lo: float = -2.0, hi: float = 2.0, margin: float = 0.05) -> np.ndarray:
    """Uniform values kept ``margin`` away from the points where the op is not smooth."""
    x = rand(r, s, lo, hi)
    for k in kinks:
        near = np.abs(x - k) < margin
        x = np.where(near, k + np.where(x >= k, margin, -margin) * 2, x)
    return x


def distinct(r: np.random.Generator, s: tuple[int, ...]) -> np.ndarray:
    """Values pairwise at least 0.1 apart (no ties for max/min/sort-like ops)."""
    n = int(np.prod(s))
    return (r.permutation(n) * 0.1 + r.uniform(0, 0.01, n) - 0.05 * n).reshape(s)


def dim_of(r: np.random.Generator, s: tuple[int, ...]) -> int:
    """A random valid dim of shape ``s``, sometimes negative."""
    n = max(len(s), 1)
    return int(r.integers(-n, n))


def dims_of(r: np.random.Generator, s: tuple[int, ...]) -> Any:
    """None, one dim or a tuple of dims of ``s``."""
    k = r.integers(0, 3)
    if k == 0 or not s:
        return None
    if k == 1:
        return dim_of(r, s)
    return tuple(int(d) for d in r.choice(len(s), int(r.integers(1, len(s) + 1)), replace=False))


def np_axes(d: Any) -> Any:
    return tuple(d) if isinstance(d, (list, tuple)) else d


# ---- references that NumPy lacks --------------------------------------------------------------
def np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


np_erf = np.vectorize(math.erf, otypes=[np.float64])


def np_softmax(x: np.ndarray, d: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


def np_log_softmax(x: np.ndarray, d: int) -> np.ndarray:
    s = x - x.max(axis=d, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=d, keepdims=True))


def np_softplus(x: np.ndarray, beta: float, threshold: float) -> np.ndarray:
    return np.where(x * beta > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def np_scatter_add(x: np.ndarray, index: np.ndarray, src: np.ndarray, d: int) -> np.ndarray:
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[d] = index[pos]
        out[tuple(target)] += src[pos]
    return out


def np_index_add(g: np.ndarray, s: tuple[int, ...], index: Any) -> np.ndarray:
    out = np.zeros(s)
    np.add.at(out, index, g)
    return out


# ---- the primitives ---------------------------------------------------------------------------
def _binary(r: np.random.Generator, lo: float = -2.0, hi: float = 2.0) -> list[Any]:
    sa, sb = bshapes(r)
    return [rand(r, sa, lo, hi), rand(r, sb, lo, hi)]


def _nonzero(r: np.random.Generator, s: tuple[int, ...]) -> np.ndarray:
    return away(r, s, (0.0,), margin=0.3)


def _unary(name: str, fn: Callable[..., Any], ref: Callable[..., Any],
           make: Callable[..., np.ndarray] = rand, **kw: Any) -> Spec:
    return Spec(name, fn, lambda r: [make(r, shape(r))], ref, id=name, gradgrad=True, **kw)


def _index_cases(r: np.random.Generator) -> list[Any]:
    """A tensor and an index of a random kind: int, slice, None, Ellipsis, int array (with
    duplicates), boolean mask, or a mix."""
    x = rand(r, (4, 3, 2))
    k = int(r.integers(0, 7))
    index: Any = [
        (1, slice(None, None, -1)),
        (slice(1, None, 2), None, Ellipsis, 0),
        (np.array([0, 2, 2, 3, 0]),),
        (np.array([[1, 1], [3, 0]]), slice(None), np.array([1, 0])),
        (x[..., 0] > 0,),
        (Ellipsis, np.array([1, 1, 0])),
        (-1, np.array([2, 0, 2]), None),
    ][k]
    return [x, index]


def _cross_entropy_case(r: np.random.Generator) -> list[Any]:
    n, c = int(r.integers(1, 4)), int(r.integers(2, 5))
    q = r.uniform(0, 1, (n, c))
    return [rand(r, (n, c)), q / q.sum(1, keepdims=True)]


def _ce(x: Any, q: Any) -> Any:
    return OPS["cross_entropy"].apply(x, q, dim=1)


SPECS: list[Spec] = [
    # arithmetic, broadcasting
    Spec("pow", lambda a, b: a ** b,
         lambda r: [rand(r, shape(r)), np.array(float(r.integers(-2, 4)))],
         np.power, id="pow-negative-base-int-exponent", nograd=(1,)),
    # unary maths: the elementwise ops are derived from the op table (specs_table.py)
    Spec("cast", lambda x: x.to(cr.float32).double(), lambda r: [rand(r, shape(r))],
         lambda x: x.astype(np.float32).astype(np.float64), id="cast-float32",
         check={"eps": 1e-2, "atol": 1e-4}),
    Spec("cast", lambda x: x.long(), lambda r: [rand(r, shape(r), -5, 5)],
         lambda x: x.astype(np.int64), id="cast-int64"),
    # fused (softmax, log_softmax: derived from the op table)
    Spec("cross_entropy", _ce, _cross_entropy_case,
         lambda x, q: -(q * np_log_softmax(x, 1)).sum(1), id="cross_entropy"),
    # movement (reductions, products, dims, permutations, gather/scatter_add, reshape, expand,
    # pad: derived from the op table, specs_table.py)
    Spec("getitem", lambda x, i: x[i], _index_cases, lambda x, i: x[i], id="getitem"),
    Spec("index_add", lambda g, i: OPS["index_add"].apply(g, shape=(4, 3, 2), index=i),
         lambda r: (lambda x, i: [rand(r, x[i].shape), i])(*_index_cases(r)),
         lambda g, i: np_index_add(g, (4, 3, 2), i), id="index_add"),
    Spec("index_put", lambda x, v, i: cr.ops.movement.index_put(x, i, v),
         lambda r: [rand(r, (4, 3)), rand(r, (3,)), (np.array([0, 2]), slice(None))],
         lambda x, v, i: np.where(np.arange(4)[:, None] % 2 == 0, v, x), id="index_put"),
]
