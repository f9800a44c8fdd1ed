"""Statistics and running reductions built from the primitives: mode, cummax/cummin,
logcumsumexp, quantile/nanquantile, cov/corrcoef, histc and trapezoid (gradients come with the
ops they use; histc has none)."""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

from chainrule.backend import xp
from chainrule.ops.elementwise import logaddexp
from chainrule.ops.movement import gather, stack
from chainrule.ops.reduce import sum
from chainrule.ops.shape import normalize_dims
from chainrule.ops.sorting import sort
from chainrule.tensor import Tensor

CumResult = namedtuple("CumResult", ["values", "indices"])


def _running(input: Tensor, dim: int, name: str, better: Any) -> CumResult:
    d = normalize_dims(dim, input.ndim, name)[0]  # (0 for a 0-d input)
    x = input.array if input.ndim else input.array.reshape(1)
    moved = xp.moveaxis(x, d, -1)
    index = xp.zeros(moved.shape, xp.int64)
    best = moved[..., 0].copy()
    for i in range(1, moved.shape[-1]):  # (ties and NaN: the later index, as in PyTorch)
        v = moved[..., i]
        take = better(v, best) | (v == best) | xp.isnan(v)
        take &= ~(xp.isnan(best) & ~xp.isnan(v))
        best = xp.where(take, v, best)
        index[..., i] = xp.where(take, i, index[..., i - 1])
    index = xp.moveaxis(index, -1, d).reshape(input.shape)
    at = Tensor._wrap(index)
    return CumResult(gather(input, d, at) if input.ndim else input * 1, at)


def cummax(input: Tensor, dim: int) -> CumResult:
    """The running maximum along ``dim`` and where it was reached (the latest index on
    ties); the gradient goes to that element.

    Example:
        >>> import chainrule as cr
        >>> cr.cummax(cr.tensor([1.0, 3.0, 2.0, 5.0]), 0)
        CumResult(values=tensor([1., 3., 3., 5.]), indices=tensor([0, 1, 1, 3]))
    """
    return _running(input, dim, "cummax", xp.greater)


def cummin(input: Tensor, dim: int) -> CumResult:
    """The running minimum along ``dim`` and where it was reached (see ``cummax``).

    Example:
        >>> import chainrule as cr
        >>> cr.cummin(cr.tensor([3.0, 1.0, 2.0, 0.0]), 0)
        CumResult(values=tensor([3., 1., 1., 0.]), indices=tensor([0, 1, 1, 3]))
    """
    return _running(input, dim, "cummin", xp.less)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """ln Σ_{j≤i} exp(x_j) along ``dim``, one ``logaddexp`` per step so no term under- or
    overflows.

    Example:
        >>> import chainrule as cr
        >>> cr.logcumsumexp(cr.tensor([0.0, 0.0, 1000.0]), 0).tolist()
        [0.0, 0.6931471824645996, 1000.0]
    """
    if input.ndim == 0:
        return input * 1
    d = normalize_dims(dim, input.ndim, "logcumsumexp")[0]
    steps = input.unbind(d)
    acc, out = steps[0] * 1, [steps[0] * 1] if steps else []
    for x in steps[1:]:
        acc = logaddexp(acc, x)
        out.append(acc)
    return stack(out, d) if out else input * 1


def _quantile(input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str,
              name: str, skip_nan: bool) -> Tensor:
    qs = q.array if isinstance(q, Tensor) else xp.asarray(q, input.dtype)
    if qs.ndim > 1 or ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{name}: q must be a scalar or 1-D tensor with values in [0, 1], "
                           f"got {qs.tolist()}")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{name}: interpolation must be one of linear, lower, higher, "
                         f"midpoint or nearest, got {interpolation!r}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else normalize_dims(dim, input.ndim, name)[0]
    values, _ = sort(x, d)  # NaN sorts last
    nan = xp.isnan(x.array).any(d, keepdims=True)
    count = ((~xp.isnan(x.array)).sum(d, keepdims=True) if skip_nan
             else xp.full(nan.shape, x.shape[d]))
    outs = []
    for p in xp.atleast_1d(qs).tolist():
        rank = (count - 1).clip(0) * p
        lo, hi = xp.floor(rank).astype(xp.int64), xp.ceil(rank).astype(xp.int64)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":  # (half to even, as PyTorch and NumPy)
            lo = hi = xp.round(rank).astype(xp.int64)
        a, b = gather(values, d, Tensor._wrap(lo)), gather(values, d, Tensor._wrap(hi))
        if interpolation == "midpoint":
            out = (a + b) * 0.5
        elif interpolation == "linear":
            out = a + (b - a) * Tensor._wrap((rank - xp.floor(rank)).astype(input.dtype))
        else:
            out = a
        empty = count == 0 if skip_nan else nan  # NaN where NaN is in (or all is NaN)
        if empty.any():
            out = out.masked_fill(Tensor._wrap(empty), math.nan)
        if dim is None:
            out = out.reshape((1,) * input.ndim if keepdim else ())
        elif not keepdim:
            out = out.squeeze(d)
        outs.append(out)
    return outs[0] if qs.ndim == 0 else stack(outs, 0)


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (q in [0, 1], a scalar or 1-D, whose entries stack in a new
    first dim) over ``dim`` (all elements by default), between order statistics by
    ``interpolation``; NaN where the reduced values hold one.

    Example:
        >>> import chainrule as cr
        >>> cr.quantile(cr.tensor([1.0, 2.0, 3.0, 4.0]), 0.5)
        tensor(2.5000)
    """
    return _quantile(input, q, dim, keepdim, interpolation, "quantile", False)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` over the values that are not NaN.

    Example:
        >>> import chainrule as cr
        >>> cr.nanquantile(cr.tensor([1.0, float("nan"), 3.0]), 0.5)
        tensor(2.)
    """
    return _quantile(input, q, dim, keepdim, interpolation, "nanquantile", True)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in its
    columns), with Bessel's ``correction``.

    Example:
        >>> import chainrule as cr
        >>> cr.cov(cr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov: fweights and aweights are not supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    n = x.shape[1]
    centred = x - x.mean(1, keepdim=True)
    out = (centred @ centred.mT) / max(n - correction, 0)
    return out if input.ndim == 2 else out.reshape(())


def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients of the variables in the rows of ``input``, clipped
    to [−1, 1].

    Example:
        >>> import chainrule as cr
        >>> cr.corrcoef(cr.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
        tensor([[ 1., -1.],
                [-1.,  1.]])
    """
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal().sqrt()
    return (c / d[:, None] / d[None, :]).clamp(-1, 1)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of ``input`` in ``bins`` equal bins over [min, max] (the data's range when both
    are 0), values outside ignored, in the input's dtype; no gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.histc(cr.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    a = input.array.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi == 0 and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min} and max={max}")
    counts, _ = xp.histogram(a, bins, (lo, hi))
    return Tensor._wrap(counts.astype(input.dtype))


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float = 1.0, dim: int = -1) -> Tensor:
    """∫ y along ``dim`` by the trapezoidal rule, at sample points ``x`` (1-D, or y's shape)
    or with spacing ``dx``.

    Example:
        >>> import chainrule as cr
        >>> cr.trapezoid(cr.tensor([1.0, 2.0, 3.0]))
        tensor(4.)
    """
    d = normalize_dims(dim, y.ndim, "trapezoid")[0]
    m = y.shape[d]
    lead = (slice(None),) * d
    mid = (y[lead + (slice(1, m),)] + y[lead + (slice(0, m - 1),)]) * 0.5
    if x is None:
        return sum(mid, d) * dx
    if x.ndim == 1:
        if x.shape[0] != m:
            raise RuntimeError(f"trapezoid: x of shape {tuple(x.shape)} does not match y of "
                               f"shape {tuple(y.shape)} along dim {dim}")
        steps = (x[1:] - x[:-1]).reshape((-1,) + (1,) * (y.ndim - 1 - d))
    else:
        steps = x[lead + (slice(1, m),)] - x[lead + (slice(0, m - 1),)]
    return sum(mid * steps, d)


trapz = trapezoid


ModeResult = namedtuple("ModeResult", ["values", "indices"])


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> ModeResult:
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence; the gradient goes to that element.

    Example:
        >>> import chainrule as cr
        >>> cr.mode(cr.tensor([[1, 2, 2, 3], [4, 4, 5, 5]]), 1)
        ModeResult(values=tensor([2, 4]), indices=tensor([2, 1]))
    """
    d = normalize_dims(dim, input.ndim, "mode")[0]  # (0 for a 0-d input)
    x = input.array if input.ndim else input.array.reshape(1)
    moved = xp.moveaxis(x, d, -1)
    rows = moved.reshape(-1, moved.shape[-1])
    index = xp.empty(rows.shape[0], xp.int64)
    for r, row in enumerate(rows):
        values, counts = xp.unique(row, return_counts=True)
        best = values[xp.argmax(counts)]  # (ties: the smallest value, unique is sorted)
        index[r] = xp.flatnonzero(row == best)[-1]
    index = index.reshape(moved.shape[:-1] + (1,))
    at = Tensor._wrap(xp.moveaxis(index, -1, d)) if input.ndim else Tensor._wrap(index)
    picked = gather(input, d, at) if input.ndim else input.reshape(1)
    if not keepdim or input.ndim == 0:
        picked, at = picked.squeeze(d) if input.ndim else picked[0], \
            at.squeeze(d) if input.ndim else at[0]
    return ModeResult(picked, at)
