"""Sliding-window machinery shared by conv, fold and pool: argument tuples, padding (kept as
((top, bottom), (left, right)); a negative bottom/right crops), output sizes, strided window views,
im2col/col2im, and the per-group GEMM.

Window loops run over the kh·kw kernel offsets (or the groups), never over pixels.
"""

from __future__ import annotations

from typing import Any

from numpy.lib.stride_tricks import as_strided

from chainrule.backend import Array, widened, xp

Pads = tuple[tuple[int, int], tuple[int, int]]


def _tuple(v: Any, n: int, what: str, op: str) -> tuple[int, ...]:
    out = (int(v),) * n if isinstance(v, int) else tuple(int(a) for a in v)
    if len(out) != n:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    return out


def _pad(x: Array, pads: Pads, value: float = 0.0) -> Array:
    """x (.., H, W) padded by ``pads`` with ``value``; a negative amount crops."""
    (t, b), (lf, r) = pads
    if t < 0 or b < 0 or lf < 0 or r < 0:
        h, w = x.shape[-2:]
        x = x[..., max(-t, 0):h - max(-b, 0), max(-lf, 0):w - max(-r, 0)]
        t, b, lf, r = max(t, 0), max(b, 0), max(lf, 0), max(r, 0)
    if t or b or lf or r:
        return xp.pad(x, ((0, 0),) * (x.ndim - 2) + ((t, b), (lf, r)), constant_values=value)
    return x


def _out_size(n: int, k: int, s: int, d: int, before: int, after: int) -> int:
    return (n + before + after - d * (k - 1) - 1) // s + 1


def _windows(xpad: Array, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
             out: tuple[int, int], channel_major: bool) -> Array:
    """A strided view of the windows of padded ``xpad`` (N, C, Hp, Wp): shape
    (C, kh, kw, N, Ho, Wo) if ``channel_major`` else (N, C, kh, kw, Ho, Wo). No copy."""
    sn, sc, sh, sw = xpad.strides
    n, c = xpad.shape[:2]
    win = (k[0], k[1])
    wst = (sh * d[0], sw * d[1])
    pos, pst = out, (sh * s[0], sw * s[1])
    if channel_major:
        return as_strided(xpad, (c, *win, n, *pos), (sc, *wst, sn, *pst), writeable=False)
    return as_strided(xpad, (n, c, *win, *pos), (sn, sc, *wst, *pst), writeable=False)


def _im2col(x: Array, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], pads: Pads,
            out: tuple[int, int]) -> Array:
    """The contiguous im2col buffer of x (N, C, H, W): shape (C·kh·kw, N·Ho·Wo)."""
    win = _windows(_pad(x, pads), k, s, d, out, channel_major=True)
    return xp.ascontiguousarray(win).reshape(-1, x.shape[0] * out[0] * out[1])


def _col2im(cols: Array, s: tuple[int, int], d: tuple[int, int], top_left: tuple[int, int],
            size: tuple[int, int]) -> Array:
    """Scatter-add of windows back into an image: cols (A, B, kh, kw, h, w) → (A, B, *size),
    where window (i, j) of position (p, q) lands at (p·s + i·d − top, q·s + j·d − left)."""
    a, b, kh, kw, h, w = cols.shape
    top, left = top_left
    hb = max((h - 1) * s[0] + d[0] * (kh - 1) + 1, top + size[0])
    wb = max((w - 1) * s[1] + d[1] * (kw - 1) + 1, left + size[1])
    buf = xp.zeros((a, b, hb, wb), cols.dtype)
    rows, cols_ = (h - 1) * s[0] + 1, (w - 1) * s[1] + 1
    for i in range(kh):  # NOTE: a loop over the kh·kw kernel offsets, never over pixels
        r = i * d[0]
        for j in range(kw):
            c = j * d[1]
            buf[:, :, r:r + rows:s[0], c:c + cols_:s[1]] += cols[:, :, i, j]
    return buf[:, :, top:top + size[0], left:left + size[1]]


def _cnhw(x: Array, groups: int) -> Array:
    """x (N, C, H, W) as a (groups, C/groups, N·H·W) matrix stack (free if x is channel-major)."""
    n, c, h, w = x.shape
    return xp.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(groups, c // groups, n * h * w)


def _gemm(a: Array, b: Array) -> Array:
    """a[i] @ b[i] for each group i: plain 2-D BLAS calls (a stacked matmul is slower on
    transposed operands)."""
    if a.dtype.name == "bfloat16" or b.dtype.name == "bfloat16":
        return widened(_gemm, a, b)
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    out = xp.empty((a.shape[0], a.shape[1], b.shape[2]), xp.result_type(a, b))
    for i in range(a.shape[0]):  # NOTE: a loop over groups, as for grouped BLAS calls
        xp.matmul(a[i], b[i], out=out[i])
    return out
