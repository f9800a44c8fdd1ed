"""im2col and col2im for 2-D windows: the image's windows copied into the convolution's GEMM
buffer, and each window's values added back into the image at its position (from columns
laid out either way round), one pass each instead of one strided NumPy copy or add per kernel
offset. im2col and the rows' col2im run over shares of the images (or channels) on MKL's
threads (``kernels.team``) where MKL does."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from chainrule.kernels import team
from chainrule.kernels.approx import kernel


def windows_fit(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                dilation: tuple[int, ...], out: tuple[int, ...]) -> None:
    """Raise ValueError unless ``out`` windows of the geometry lie inside an image of ``size``
    (the kernels index without bounds checks)."""
    if any(o < 0 or (o and (o - 1) * s + d * (k - 1) >= n)
           for n, k, s, d, o in zip(size, kernel, stride, dilation, out)):
        raise ValueError(f"{out} windows of size {kernel} (stride {stride}, dilation "
                         f"{dilation}) do not fit in an image of size {tuple(size)}")


@kernel
def _im2col(x: Any, cols: Any, channel_major: bool, s0: int, s1: int, d0: int, d1: int,
            lo: int, hi: int) -> None:
    # x (A, B, H, W) padded: (C, N) if channel_major else (N, C); cols (C, kh, kw, N, oh, ow);
    # the windows of x[lo:hi]
    B = x.shape[1]
    kh, kw = cols.shape[1:3]
    oh, ow = cols.shape[4:]
    for a in range(lo, hi):
        for b in range(B):
            c, n = (a, b) if channel_major else (b, a)
            src = x[a, b]
            for i in range(kh):
                for j in range(kw):
                    dst = cols[c, i, j, n]
                    for p in range(oh):
                        line, out = src[p * s0 + i * d0], dst[p]
                        if s1 == 1:  # contiguous: vectorised
                            line = line[j * d1:j * d1 + ow]
                            for q in range(ow):
                                out[q] = line[q]
                        else:
                            for q in range(ow):
                                out[q] = line[q * s1 + j * d1]


def im2col(xpad: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out: tuple[int, int]) -> np.ndarray | None:
    """The (C, kh, kw, N, oh, ow) windows of padded xpad (N, C, H, W): window (y, x)'s offset
    (i, j) is xpad[..., y·s₀ + i·d₀, x·s₁ + j·d₁]. None unless xpad is NCHW- or channel-major
    contiguous."""
    n, c = xpad.shape[:2]
    major = xpad.swapaxes(0, 1)
    if not (xpad.flags.c_contiguous or major.flags.c_contiguous):
        return None
    windows_fit(xpad.shape[2:], kernel, stride, dilation, out)
    cols = np.empty((c, *kernel, n, *out), xpad.dtype)
    channel_major = not xpad.flags.c_contiguous
    x = major if channel_major else xpad
    count = team.team_threads(cols.size)
    if count > 1 and x.shape[0] > 1:
        team.run(_im2col_share, x.shape[0], x.itemsize,
                 [x.ctypes.data, cols.ctypes.data, *x.shape, *cols.shape, channel_major,
                  *stride, *dilation], count)
    else:
        _im2col(x, cols, channel_major, *stride, *dilation, 0, x.shape[0])
    return cols


@kernel
def _im2col_shared(a: Any, lo: int, hi: int, dtype: Any) -> None:
    x = team.array_at(a[1], (a[3], a[4], a[5], a[6]), dtype)
    cols = team.array_at(a[2], (a[7], a[8], a[9], a[10], a[11], a[12]), dtype)
    _im2col(x, cols, a[13] != 0, a[14], a[15], a[16], a[17], lo, hi)


@numba.cfunc(team.SHARE, **team.options(_im2col.py_func))
def _im2col_share(data: Any, lo: int, hi: int, t: int) -> None:
    # x, cols, x's shape (4), cols' shape (6), channel_major, stride, dilation
    a = team.arguments(data, 17)
    if a[0] == 4:
        _im2col_shared(a, lo, hi, np.float32)
    else:
        _im2col_shared(a, lo, hi, np.float64)


@kernel
def _col2im(cols: Any, buf: Any, s0: int, s1: int, d0: int, d1: int) -> None:
    # cols (kh, kw, A, B, oh, ow): the order the convolution's backward GEMM writes them
    kh, kw, A, B, oh, ow = cols.shape
    for i in range(kh):
        for j in range(kw):
            for a in range(A):
                for b in range(B):
                    for y in range(oh):
                        src = cols[i, j, a, b, y]
                        dst = buf[a, b, y * s0 + i * d0]
                        if s1 == 1:  # contiguous: vectorised
                            dst = dst[j * d1:j * d1 + ow]
                            for x in range(ow):
                                dst[x] += src[x]
                        else:
                            for x in range(ow):
                                dst[x * s1 + j * d1] += src[x]


def col2im(cols: np.ndarray, stride: tuple[int, int], dilation: tuple[int, int],
           full: tuple[int, int]) -> np.ndarray:
    """cols (A, B, kh, kw, oh, ow) summed into a zeroed (A, B, *full) image: offset (i, j) of
    window (y, x) lands at (y·s₀ + i·d₀, x·s₁ + j·d₁)."""
    buf = np.zeros((*cols.shape[:2], *full), cols.dtype)
    _col2im(cols.transpose(2, 3, 0, 1, 4, 5), buf, *stride, *dilation)
    return buf


@kernel
def _rows2im(rows: Any, buf: Any, s0: int, s1: int, d0: int, d1: int, lo: int,
             hi: int) -> None:
    # rows (N, oh, ow, kh, kw·C) summed into one sample's (H, W·C) tile at a time, read in
    # memory order; the tile's transpose is then written into buf (C, N, H, W); samples lo..hi
    _, oh, ow, kh, kwc = rows.shape
    C, H, W = buf.shape[0], buf.shape[2], buf.shape[3]
    kw = kwc // C
    tile = np.empty((H, W * C), rows.dtype)
    for n in range(lo, hi):
        tile[:] = 0
        for y in range(oh):
            for x in range(ow):
                for i in range(kh):
                    src, line = rows[n, y, x, i], tile[y * s0 + i * d0]
                    if d1 == 1:  # the window row's pixels are adjacent: one run of kw·C
                        dst = line[x * s1 * C:(x * s1 + kw) * C]
                        for t in range(kwc):
                            dst[t] += src[t]
                    else:
                        for j in range(kw):
                            dst = line[(x * s1 + j * d1) * C:(x * s1 + j * d1 + 1) * C]
                            for c in range(C):
                                dst[c] += src[j * C + c]
        for h in range(H):
            for c in range(C):
                out, line = buf[c, n, h], tile[h]
                for w in range(W):
                    out[w] = line[w * C + c]


def rows2im(rows: np.ndarray, stride: tuple[int, int], dilation: tuple[int, int],
            full: tuple[int, int]) -> np.ndarray:
    """col2im of rows (N, oh, ow, kh, kw, C), one row of columns per window (the layout of
    the product gᵀ·w), into a (C, N, *full) image."""
    n, oh, ow, kh, kw, c = rows.shape
    buf = np.empty((c, n, *full), rows.dtype)
    rows = rows.reshape(n, oh, ow, kh, kw * c)
    count = team.team_threads(rows.size)
    if count > 1 and n > 1 and rows.flags.c_contiguous:
        team.run(_rows2im_share, n, rows.itemsize,
                 [rows.ctypes.data, buf.ctypes.data, *rows.shape, *buf.shape, *stride,
                  *dilation], count)
    else:
        _rows2im(rows, buf, *stride, *dilation, 0, n)
    return buf


@kernel
def _rows2im_shared(a: Any, lo: int, hi: int, dtype: Any) -> None:
    rows = team.array_at(a[1], (a[3], a[4], a[5], a[6], a[7]), dtype)
    buf = team.array_at(a[2], (a[8], a[9], a[10], a[11]), dtype)
    _rows2im(rows, buf, a[12], a[13], a[14], a[15], lo, hi)


@numba.cfunc(team.SHARE, **team.options(_rows2im.py_func))
def _rows2im_share(data: Any, lo: int, hi: int, t: int) -> None:
    # rows, buf, rows' shape (5), buf's shape (4), stride, dilation
    a = team.arguments(data, 15)
    if a[0] == 4:
        _rows2im_shared(a, lo, hi, np.float32)
    else:
        _rows2im_shared(a, lo, hi, np.float64)
