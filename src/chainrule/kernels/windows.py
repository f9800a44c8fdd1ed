"""im2col and col2im for 2-D windows: the image's windows copied into the convolution's GEMM
buffer, and each window's values added back into the image at its position, one pass each
instead of one strided NumPy copy or add per kernel offset."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.kernels.approx import kernel


@functools.cache
def _im2col_for(kh: int, kw: int, s0: int, s1: int, d0: int, d1: int) -> Callable[..., None]:
    """The im2col kernel of one window geometry, which it holds as constants.

    NOTE: with the geometry constant, LLVM unrolls the offsets and vectorises the copies: a
    (32, 16, 26, 26) float32 image's 3×3 windows take 0.27 ms, against 0.67 ms for NumPy's
    strided copy (its inner loop is one output row). Numba caches each geometry on disk."""

    @kernel
    def im2col(x, cols, channel_major):  # type: ignore[no-untyped-def]
        # x (A, B, H, W) padded: (C, N) if channel_major else (N, C); cols (C, kh, kw, N, oh, ow)
        A, B = x.shape[:2]
        oh, ow = cols.shape[4:]
        for a in range(A):
            for b in range(B):
                c, n = (a, b) if channel_major else (b, a)
                src = x[a, b]
                for i in range(kh):
                    for j in range(kw):
                        dst = cols[c, i, j, n]
                        for p in range(oh):
                            for q in range(ow):
                                dst[p, q] = src[p * s0 + i * d0, q * s1 + j * d1]

    return im2col


def im2col(xpad: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
           dilation: tuple[int, int], out: tuple[int, int]) -> np.ndarray | None:
    """The (C, kh, kw, N, oh, ow) windows of padded xpad (N, C, H, W): window (y, x)'s offset
    (i, j) is xpad[..., y·s₀ + i·d₀, x·s₁ + j·d₁]. None unless xpad is NCHW- or channel-major
    contiguous."""
    n, c = xpad.shape[:2]
    major = xpad.swapaxes(0, 1)
    if not (xpad.flags.c_contiguous or major.flags.c_contiguous):
        return None
    cols = np.empty((c, *kernel, n, *out), xpad.dtype)
    channel_major = not xpad.flags.c_contiguous
    _im2col_for(*kernel, *stride, *dilation)(major if channel_major else xpad, cols,
                                             channel_major)
    return cols


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
