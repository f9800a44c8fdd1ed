"""Sliding-window machinery shared by conv, fold and pool, for any number of spatial dims (the
last ``len(k)`` axes): argument tuples, padding (kept as one (before, after) pair per spatial
axis; a negative amount crops), output sizes, strided window views, im2col/col2im, and the
per-group GEMM.

Window loops run over the kernel offsets (or the groups), never over pixels.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from numpy.lib.stride_tricks import as_strided

from chainrule import kernels
from chainrule.backend import Array, is_bfloat16, matmul, widened, xp

Pads = tuple[tuple[int, int], ...]


def _tuple(v: Any, n: int, what: str, op: str) -> tuple[int, ...]:
    out = (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)
    if len(out) != n:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    return out


def _pad(x: Array, pads: Pads, value: float = 0.0) -> Array:
    """x (..., *spatial) padded by ``pads`` (one pair per spatial axis) with ``value``; a
    negative amount crops."""
    nd = len(pads)
    if any(a < 0 or b < 0 for a, b in pads):
        crop = tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(pads, x.shape[-nd:]))
        x = x[(Ellipsis, *crop)]
        pads = tuple((max(a, 0), max(b, 0)) for a, b in pads)
    if any(a or b for a, b in pads):
        return xp.pad(x, ((0, 0),) * (x.ndim - nd) + tuple(pads), constant_values=value)
    return x


def _out_size(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    return (n + before + after - d * (k - 1) - 1) // s + 1


def _windows(xpad: Array, k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...],
             out: tuple[int, ...], channel_major: bool) -> Array:
    """A strided view of the windows of padded ``xpad`` (N, C, *spatial): shape
    (C, *k, N, *out) if ``channel_major`` else (N, C, *k, *out). No copy."""
    sn, sc, *sp = xpad.strides
    n, c = xpad.shape[:2]
    wst = tuple(st * di for st, di in zip(sp, d))
    pst = tuple(st * si for st, si in zip(sp, s))
    if channel_major:
        return as_strided(xpad, (c, *k, n, *out), (sc, *wst, sn, *pst), writeable=False)
    return as_strided(xpad, (n, c, *k, *out), (sn, sc, *wst, *pst), writeable=False)


def _im2col(x: Array, k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...], pads: Pads,
            out: tuple[int, ...]) -> Array:
    """The contiguous im2col buffer of x (N, C, *spatial): shape (C·∏k, N·∏out)."""
    xpad = _pad(x, pads)
    shape = (x.shape[1] * math.prod(k), x.shape[0] * math.prod(out))
    if len(k) == 2 and kernels.fits(xpad):  # one compiled pass
        cols = kernels.windows.im2col(xpad, k, s, d, out)  # type: ignore[arg-type]
        if cols is not None:
            return cols.reshape(shape)
    win = _windows(xpad, k, s, d, out, channel_major=True)
    return xp.ascontiguousarray(win).reshape(shape)


def _col2im(cols: Array, s: tuple[int, ...], d: tuple[int, ...], start: tuple[int, ...],
            size: tuple[int, ...]) -> Array:
    """Scatter-add of windows back into an image: cols (A, B, *k, *out) → (A, B, *size), where
    kernel offset i of window position p lands at p·s + i·d − start (per spatial axis)."""
    nd = len(s)
    a, b = cols.shape[:2]
    k, out = cols.shape[2:2 + nd], cols.shape[2 + nd:]
    span = [(o - 1) * si + 1 for o, si in zip(out, s)]
    full = _full(span, k, d, start, size)
    if nd == 2 and kernels.fits(cols):  # one compiled pass
        buf = kernels.windows.col2im(cols, s, d, full)
    else:
        buf = xp.zeros((a, b, *full), cols.dtype)
        for offs in itertools.product(*(range(ki) for ki in k)):  # NOTE: offsets, not pixels
            view = tuple(slice(i * di, i * di + sp, si) for i, di, sp, si in zip(offs, d, span, s))
            buf[(slice(None), slice(None), *view)] += cols[(slice(None), slice(None), *offs)]
    return _crop(buf, start, size)


def _rows2im(rows: Array, s: tuple[int, int], d: tuple[int, int], start: tuple[int, int],
             size: tuple[int, int]) -> Array:
    """``_col2im`` of 2-D windows laid out as rows (N, oh, ow, kh, kw, C) → (C, N, *size), by
    the compiled kernel (only: callers check ``kernels.fits``)."""
    out, k = rows.shape[1:3], rows.shape[3:5]
    full = _full([(o - 1) * si + 1 for o, si in zip(out, s)], k, d, start, size)
    return _crop(kernels.windows.rows2im(rows, s, d, full), start, size)


def _full(span: list[int], k: tuple[int, ...], d: tuple[int, ...], start: tuple[int, ...],
          size: tuple[int, ...]) -> tuple[int, ...]:
    """The size of the image the windows land in before cropping."""
    return tuple(max(sp + di * (ki - 1), st + n) for sp, di, ki, st, n in
                 zip(span, d, k, start, size))


def _crop(buf: Array, start: tuple[int, ...], size: tuple[int, ...]) -> Array:
    """The ``size`` window of buf (A, B, *full) from ``start`` (a view)."""
    return buf[(slice(None), slice(None), *(slice(st, st + n) for st, n in zip(start, size)))]


def _cnhw(x: Array, groups: int) -> Array:
    """x (N, C, *spatial) as a (groups, C/groups, N·∏spatial) matrix stack (free if x is
    channel-major)."""
    n, c = x.shape[:2]
    perm = (1, 0, *range(2, x.ndim))
    return xp.ascontiguousarray(x.transpose(perm)).reshape(groups, c // groups,
                                                           x.size // max(c, 1))


def _gemm(a: Array, b: Array) -> Array:
    """a[i] @ b[i] for each group i: plain 2-D BLAS calls (a stacked matmul is slower on
    transposed operands)."""
    if is_bfloat16(a.dtype) or is_bfloat16(b.dtype):
        return widened(_gemm, a, b)
    if a.shape[0] == 1:
        return matmul(a[0], b[0])[None]
    out = xp.empty((a.shape[0], a.shape[1], b.shape[2]), xp.result_type(a, b))
    for i in range(a.shape[0]):  # NOTE: a loop over groups, as for grouped BLAS calls
        matmul(a[i], b[i], out=out[i])
    return out
