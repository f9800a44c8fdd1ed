"""Padding that copies values from the input: ``F.pad``'s 'reflect', 'replicate' and
'circular' modes. No primitive of its own: per padded dim, an index array says which input
position each output position copies, and ``getitem``'s backward sums the copies. Also the
cropping that negative widths of 'constant' padding do."""

from __future__ import annotations

from typing import Any

from chainrule.backend import xp
from chainrule.tensor import Tensor


def pad_by_copying(input: Tensor, pad: tuple[int, ...], mode: str) -> Tensor:
    """``input`` padded in ``mode`` ('reflect', 'replicate' or 'circular'); ``pad`` lists
    (before, after) widths from the last dim backwards, as for ``F.pad``."""
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected "
                                  "'constant', 'reflect', 'replicate' or 'circular')")
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {pad}")
    k = len(pad) // 2
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: padding size {len(pad)} is not supported for "
                                  f"{input.ndim}D input tensor of shape {tuple(input.shape)} "
                                  f"in mode {mode!r}")
    out = input
    for i in range(k):
        d = input.ndim - 1 - i
        n, before, after = input.shape[d], pad[2 * i], pad[2 * i + 1]
        widest = max(before, after)
        if (mode == "reflect" and widest >= n or mode == "circular" and widest > n
                or n + before + after <= 0):
            raise RuntimeError(f"pad: padding ({before}, {after}) at dimension {d} of input of "
                               f"shape {tuple(input.shape)} is too large for mode {mode!r}")
        if n == 0:
            raise RuntimeError(f"pad: mode {mode!r} needs a non-empty dimension {d}, got input "
                               f"of shape {tuple(input.shape)}")
        j = xp.arange(-before, n + after)
        if mode == "replicate":
            j = xp.clip(j, 0, n - 1)
        elif mode == "circular":  # a negative width crops first; the rest wraps what is left
            lo, hi = max(-before, 0), n - max(-after, 0)
            j = lo + xp.arange(-max(before, 0), hi - lo + max(after, 0)) % (
                hi - lo)
        elif n > 1:
            j = j % (2 * n - 2)
            j = xp.where(j >= n, 2 * n - 2 - j, j)
        out = out[(slice(None),) * d + (j,)]
    return out


def crop(input: Tensor, pairs: list[tuple[int, int]]) -> tuple[Tensor, list[tuple[int, int]]]:
    """``input`` cropped by the negative (before, after) widths, one pair per dim, and the
    widths left to pad (the negative ones now 0)."""
    index: list[Any] = []
    for d, ((before, after), n) in enumerate(zip(pairs, input.shape)):
        if n + min(before, 0) + min(after, 0) < 0:
            raise RuntimeError(f"pad: widths ({before}, {after}) crop dimension {d} of input of "
                               f"shape {tuple(input.shape)} to a negative size")
        index.append(slice(max(-before, 0), n - max(-after, 0)))
    return (input[tuple(index)],
            [(max(before, 0), max(after, 0)) for before, after in pairs])
