"""col2im for 2-D windows: each window's values added back into the image at its position,
one pass over the columns instead of one strided NumPy add per kernel offset."""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.kernels.approx import kernel


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
