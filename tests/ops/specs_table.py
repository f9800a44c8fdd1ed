"""Gradcheck specs for every op of the op table (``chainrule.ops.table.TABLE``) with a test
domain, derived from its entry: inputs drawn from the entry's domains (elementwise: in mutually
broadcastable shapes; reductions: with a random ``dim`` and ``keepdim``; otherwise the whole
argument list from the entry's sample generator in ``samples.py``, called through
``samples.call``), and the forward compared with the NumPy reference named here, called with the
same arguments (a ``seq`` as a tuple of arrays, a ``kw`` by keyword).

An entry with a domain but no reference in ``REFERENCES`` fails ``test_gradcheck.py``; the
forward-mode matrix (``tests/func/op_specs.py``) draws from the same entries.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from reference_scatter import (
    np_index_add,
    np_index_put,
    np_masked_scatter,
    np_scatter,
    np_scatter_reduce,
)
from samples import call, draw
from specs import (
    Spec,
    np_axes,
    np_erf,
    np_log_softmax,
    np_scatter_add,
    np_sigmoid,
    np_softmax,
    np_softplus,
)
from specs_conv import (
    np_avg_pool2d,
    np_conv2d,
    np_conv_transpose2d,
    np_fold,
    np_max_pool2d,
    np_unfold,
)
from specs_layers import (
    np_adaptive_avg,
    np_adaptive_max,
    np_avg_pool,
    np_conv,
    np_conv_transpose,
    np_max_pool,
)

from chainrule.ops.table import TABLE, Entry


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + np_erf(x / math.sqrt(2)))


def _np_max(f: Callable[..., Any], arg: Callable[..., Any]) -> Callable[..., Any]:
    """``max``/``min``: over everything, or (values, indices) along ``dim``."""
    def ref(x: np.ndarray, d: Any = None, k: bool = False) -> Any:
        if d is None:
            return f(x)
        return f(x, d, keepdims=k), arg(x, d, keepdims=k)

    return ref


def _np_norm(x: np.ndarray, p: Any, d: Any, k: bool) -> np.ndarray:
    a = np.abs(x)
    if p == float("inf"):
        return np.max(a, axis=np_axes(d), keepdims=k)
    q = 2 if p == "fro" else p
    return np.sum(a ** q, axis=np_axes(d), keepdims=k) ** (1 / q)


def _logsumexp(x: np.ndarray, axis: Any, keepdims: bool) -> np.ndarray:
    axes = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
    out = x
    for a in sorted({a % max(x.ndim, 1) for a in axes}):  # logaddexp: exact at ±inf and NaN
        out = np.logaddexp.reduce(out, axis=a, keepdims=True) if x.ndim else out
    return out if keepdims else np.squeeze(out, axis=axis)


def _np_gather(x: np.ndarray, d: int, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(x[tuple(slice(0, n) if i != d % x.ndim else slice(None)
                                      for i, n in enumerate(index.shape))], index, d)


def _np_squeeze(x: np.ndarray, d: Any) -> np.ndarray:
    if d is None:
        return np.squeeze(x)
    return np.squeeze(x, d) if x.shape[d] == 1 else x


NUMPY_PAD = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
             "circular": "wrap"}


def _np_pad(x: np.ndarray, pad: list[int], mode: str, value: float = 0.0) -> np.ndarray:
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    extra = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=NUMPY_PAD[mode], **extra)


def _np_split(x: np.ndarray, size: Any, d: int) -> list[np.ndarray]:
    n = x.shape[d]
    sizes = ([size] * (n // size) + ([n % size] if n % size else [])
             if isinstance(size, int) else size)
    return np.split(x, np.cumsum(sizes)[:-1], axis=d)


def _np_chunk(x: np.ndarray, n: int, d: int) -> list[np.ndarray]:
    """torch.chunk: pieces of ceil(len / n) (fewer pieces when that covers it)."""
    size = -(-x.shape[d] // n)
    return np.array_split(x, -(-x.shape[d] // size), d)


def _np_scatter(x: np.ndarray, d: int, index: np.ndarray, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> np.ndarray:
    if reduce is not None:
        return np_scatter_reduce(x, d, index, src, {"add": "sum", "multiply": "prod"}[reduce],
                                 True)
    return np_scatter(x, d, index, value if src is None else src)


def _adaptive(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f(x, output_size)`` with an int output size as a 1-tuple."""
    return lambda x, out: f(x, (out,) if isinstance(out, int) else tuple(out))


def _np_narrow(x: np.ndarray, d: int, start: int, length: int) -> np.ndarray:
    start %= x.shape[d]
    return np.take(x, np.arange(start, start + length), d)


def _np_sort(x: np.ndarray, d: int, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ties (which the checks' inputs have only once fuzzed) in the order chainrule documents:
    stable ascending, reversed for descending; NaN largest."""
    i = np.argsort(x, axis=d, kind="stable")
    i = np.flip(i, d) if descending else i
    return np.take_along_axis(x, i, d), i


def _np_topk(x: np.ndarray, k: int, d: int, largest: bool) -> tuple[np.ndarray, np.ndarray]:
    v, i = _np_sort(x, d, largest)
    keep = np.arange(k)
    return np.take(v, keep, d), np.take(i, keep, d)


def _np_kthvalue(x: np.ndarray, k: int, d: int, keepdim: bool) -> tuple[np.ndarray, ...]:
    v, i = _np_sort(x, d, False)
    v, i = np.take(v, [k - 1], d), np.take(i, [k - 1], d)
    return (v, i) if keepdim else (np.squeeze(v, d), np.squeeze(i, d))


def _np_cdist(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    diff = np.abs(a[..., :, None, :] - b[..., None, :, :])
    return (diff ** p).sum(-1) ** (1 / p)


def _np_addmm(x: np.ndarray, m1: np.ndarray, m2: np.ndarray, *, beta: float = 1,
              alpha: float = 1) -> np.ndarray:
    return beta * x + alpha * (m1 @ m2)


def _reduction(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f(x, axis=..., keepdims=...)`` called as the op is: ``(x, dim, keepdim)``."""
    return lambda x, d, k: f(x, axis=np_axes(d), keepdims=k)


def _np_sign(x: np.ndarray) -> np.ndarray:
    """PyTorch's sign: (x > 0) − (x < 0), so 0 for NaN (NumPy's is NaN)."""
    return np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype) if x.dtype.kind == "f" \
        else np.sign(x)


def _axis(d: Any) -> Any:
    return tuple(d) if isinstance(d, (list, tuple)) else d


def _np_take_along_dim(x: np.ndarray, i: np.ndarray, d: int) -> np.ndarray:
    a, b = list(x.shape), list(i.shape)
    a[d] = b[d] = 1
    common = np.broadcast_shapes(tuple(a), tuple(b))
    xs, ix = list(common), list(common)
    xs[d], ix[d] = x.shape[d], i.shape[d]
    return np.take_along_axis(np.broadcast_to(x, xs), np.broadcast_to(i, ix), d)


REFERENCES: dict[str, Callable[..., Any]] = {
    "movedim": np.moveaxis, "moveaxis": np.moveaxis, "narrow": _np_narrow,
    "diagonal": np.diagonal, "diag": np.diag, "trace": np.trace, "addmm": _np_addmm,
    "baddbmm": _np_addmm, "cdist": _np_cdist, "sort": _np_sort, "topk": _np_topk,
    "kthvalue": _np_kthvalue, "meshgrid": lambda *xs, indexing: np.meshgrid(*xs,
                                                                            indexing=indexing),
    "repeat_interleave": lambda x, n, d: np.repeat(x, n, axis=d),
    "clone": np.copy, "view": np.reshape, "t": np.transpose,
    "unflatten": lambda x, d, sizes: x.reshape(*x.shape[:d % x.ndim], *sizes,
                                               *x.shape[d % x.ndim + 1:]),
    "max": _np_max(np.max, np.argmax), "min": _np_max(np.min, np.argmin),
    "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "tanh": np.tanh, "erf": np_erf, "abs": np.abs, "sign": _np_sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc,
    "frac": lambda x: x - np.trunc(x), "erfc": lambda x: 1 - np_erf(x),
    "logit": lambda x: np.log(x / (1 - x)), "sgn": _np_sign, "deg2rad": np.deg2rad,
    "rad2deg": np.rad2deg, "exp2": np.exp2,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "log2": np.log2, "log10": np.log10, "atan2": np.arctan2, "hypot": np.hypot,
    "sigmoid": np_sigmoid, "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x, slope=0.01: np.where(x > 0, x, slope * x),
    "elu": lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x)),
    "softplus": lambda x, beta=1.0, threshold=20.0: np_softplus(x, beta, threshold),
    "gelu": _gelu, "silu": lambda x: x * np_sigmoid(x),
    "add": lambda a, b, alpha=1: a + alpha * b, "sub": lambda a, b, alpha=1: a - alpha * b,
    "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "reciprocal": np.reciprocal,
    "square": np.square, "remainder": np.remainder, "fmod": np.fmod,
    "addcmul": lambda a, b, c: a + b * c, "addcdiv": lambda a, b, c: a + b / c,
    "lerp": lambda a, b, w: a + w * (b - a), "xlogy": lambda x, y: x * np.log(y),
    "nan_to_num": np.nan_to_num, "clamp_min": np.maximum, "clamp_max": np.minimum,
    "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2,
    "nansum": _reduction(np.nansum), "nanmean": _reduction(np.nanmean),
    "var_mean": lambda x, d, c, k: (np.var(x, _axis(d), ddof=c, keepdims=k),
                                    np.mean(x, _axis(d), keepdims=k)),
    "std_mean": lambda x, d, c, k: (np.std(x, _axis(d), ddof=c, keepdims=k),
                                    np.mean(x, _axis(d), keepdims=k)),
    "median": lambda x, d: (np.sort(x, d).take((x.shape[d] - 1) // 2, d),
                            np.argsort(x, d).take((x.shape[d] - 1) // 2, d)),
    "diff": lambda x, n, d: np.diff(x, n, d),
    "fliplr": np.fliplr, "flipud": np.flipud, "rot90": lambda x, k, dims: np.rot90(x, k, dims),
    "hstack": np.hstack, "vstack": np.vstack, "dstack": np.dstack,
    "column_stack": np.column_stack,
    "take": lambda x, i: np.take(x, i), "select": lambda x, d, i: np.take(x, i, d),
    "take_along_dim": _np_take_along_dim, "ravel": np.ravel,
    "tensordot": lambda a, b, k: np.tensordot(a, b, k), "inner": np.inner, "vdot": np.vdot,
    "kron": np.kron, "mv": np.dot, "cross": lambda a, b, d: np.cross(a, b, axis=d),
    "dist": lambda a, b: np.linalg.norm((a - b).ravel()),
    **{name: _reduction(f) for name, f in (("sum", np.sum), ("mean", np.mean),
                                            ("prod", np.prod), ("amax", np.amax),
                                            ("amin", np.amin), ("logsumexp", _logsumexp))},
    "cumsum": np.cumsum, "cumprod": np.cumprod, "softmax": np_softmax,
    "log_softmax": np_log_softmax, "permute": np.transpose, "flip": np.flip, "roll": np.roll,
    "gather": _np_gather,
    "scatter_add": lambda x, d, i, s: np_scatter_add(x, i, s, d % x.ndim),
    "squeeze": _np_squeeze, "unsqueeze": np.expand_dims, "transpose": np.swapaxes,
    "unbind": lambda x, d: [np.take(x, i, d) for i in range(x.shape[d])],
    "index_select": lambda x, d, i: np.take(x, i, d), "tril": np.tril, "triu": np.triu,
    "matmul": np.matmul, "mm": np.matmul, "bmm": np.matmul, "dot": np.dot, "outer": np.outer,
    "einsum": np.einsum,
    "reshape": np.reshape, "expand": np.broadcast_to, "broadcast_to": np.broadcast_to,
    "repeat": np.tile, "tile": np.tile,
    "flatten": lambda x, a, b: x.reshape(*x.shape[:a % x.ndim], -1, *x.shape[b % x.ndim + 1:]),
    "split": _np_split, "chunk": _np_chunk, "masked_fill": lambda x, m, v: np.where(m, v, x),
    "pad": _np_pad,
    "clamp": np.clip,
    "where": np.where, "scatter": _np_scatter, "masked_scatter": np_masked_scatter,
    "scatter_reduce": np_scatter_reduce, "index_add": np_index_add, "index_put": np_index_put,
    "cat": np.concatenate, "stack": np.stack,
    "det": np.linalg.det, "inverse": np.linalg.inv, "logdet": lambda a: np.log(np.linalg.det(a)),
    "slogdet": lambda a: tuple(np.linalg.slogdet(a)),
    "conv3d": np_conv, "conv_transpose1d": np_conv_transpose,
    "conv_transpose3d": np_conv_transpose, "max_pool1d": np_max_pool, "max_pool3d": np_max_pool,
    **{f"avg_pool{n}d": lambda x, k, s, p, _, cip: np_avg_pool(x, k, s, p, cip) for n in (1, 3)},
    **{f"adaptive_avg_pool{n}d": _adaptive(np_adaptive_avg) for n in (1, 2, 3)},
    **{f"adaptive_max_pool{n}d": _adaptive(np_adaptive_max) for n in (1, 2)},
    "conv2d": np_conv2d, "conv_transpose2d": np_conv_transpose2d, "unfold": np_unfold,
    "fold": np_fold, "max_pool2d": np_max_pool2d,
    "avg_pool2d": lambda x, k, s, p, _, cip: np_avg_pool2d(x, k, s, p, cip),
    "conv1d": lambda x, w, b, s, p, d: np_conv2d(x[:, :, None], w[:, :, None], b, (1, s),
                                                 (0, p), (1, d), 1)[:, :, 0],
    "var": lambda x, d, c, k: np.var(x, axis=np_axes(d), ddof=c, keepdims=k),
    "std": lambda x, d, c, k: np.std(x, axis=np_axes(d), ddof=c, keepdims=k),
    "norm": _np_norm,
    "linear": lambda x, w, b=None: x @ w.T + (0 if b is None else b),
}
"""The NumPy forward of each op with a domain, by its table name, called with the arguments
of the entry's sample generators."""

WITH_DOMAIN: list[Entry] = [e for e in TABLE if e.domain]


def _spec(e: Entry, key: str) -> Spec:
    ref = REFERENCES.get(e.name)
    return Spec(e.op.name if e.op else (), lambda *a: call(e.function, a),
                lambda r: draw(e, r, key), ref and (lambda *a: call(ref, a)),
                id=f"table-{e.name}-{key}", gradgrad=True)


SPECS: list[Spec] = [_spec(e, key) for e in WITH_DOMAIN for key in e.samples]
