"""Adaptive pooling (``torch.nn.functional.adaptive_avg_pool1d/2d/3d``,
``adaptive_max_pool1d/2d``): the output size is fixed and output cell i covers input positions
⌊i·n/n_out⌋ … ⌈(i+1)·n/n_out⌉ − 1 of each axis.
Both are composites: the average is separable, one matmul per axis with a constant pooling
matrix; the maximum is separable too, a max over the cells of one axis, then of the other.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.ops.movement import stack
from chainrule.ops.pool import _separable
from chainrule.tensor import Tensor


def _adaptive_matrix(n: int, n_out: int, dtype: Any) -> Tensor:
    m = xp.zeros((n_out, n), dtype)
    for i in range(n_out):
        start, end = (i * n) // n_out, -(-((i + 1) * n) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return Tensor._wrap(m)


def _adaptive_size(output_size: Any, spatial: tuple[int, ...], op: str) -> tuple[int, ...]:
    if min(spatial) < 1:
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got {tuple(spatial)}")
    sizes = (output_size,) * len(spatial) if isinstance(output_size, int) or \
        output_size is None else tuple(output_size)
    return tuple(n if o is None else int(o) for o, n in zip(sizes, spatial))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size (``torch.nn.functional.adaptive_avg_pool2d``):
    output cell i covers input rows ⌊i·H/H_out⌋ … ⌈(i+1)·H/H_out⌉ − 1 (``None`` keeps a size).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.adaptive_avg_pool2d(cr.ones(1, 3, 7, 5), (1, 1)).shape
        chainrule.Size([1, 3, 1, 1])
    """
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input (N, C, H, W), "
                           f"got shape {tuple(input.shape)}")
    out = _adaptive_size(output_size, input.shape[-2:], "adaptive_avg_pool2d")
    if min(out) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    mats = [_adaptive_matrix(n, o, input.dtype) for n, o in zip(input.shape[-2:], out)]
    return _separable(input, mats)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, D, H, W) or (C, D, H, W) to a fixed output size
    (``torch.nn.functional.adaptive_avg_pool3d``; ``None`` keeps that input size).

    Example:
        >>> import chainrule as cr
        >>> adaptive_avg_pool3d(cr.ones(2, 3, 4, 5, 6), 1).shape
        chainrule.Size([2, 3, 1, 1, 1])
    """
    if input.ndim not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d: expected a 4-D or 5-D input (N, C, D, H, W), "
                           f"got shape {tuple(input.shape)}")
    out = _adaptive_size(output_size, input.shape[-3:], "adaptive_avg_pool3d")
    if len(out) != 3 or min(out) < 1:
        raise ValueError(f"adaptive_avg_pool3d: output_size must be 3 positive int(s), got "
                         f"{output_size!r}")
    mats = [_adaptive_matrix(n, o, input.dtype) for n, o in zip(input.shape[-3:], out)]
    return _separable(input, mats)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of the last axis to ``output_size`` cells (``adaptive_avg_pool1d``).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.adaptive_avg_pool1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), 2)
        tensor([[[1.5000, 3.5000]]])
    """
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d: expected a 2-D or 3-D input (N, C, L), got "
                           f"shape {tuple(input.shape)}")
    (o,) = _adaptive_size(output_size, input.shape[-1:], "adaptive_avg_pool1d")
    return _separable(input, [_adaptive_matrix(input.shape[-1], o, input.dtype)])


def _adaptive_max_axis(x: Tensor, axis: int, n_out: int) -> tuple[Tensor, Array]:
    """Max over the adaptive cells of one axis (−1 or −2): values, and each maximum's position
    along that axis (the first one on ties)."""
    n = x.shape[axis]
    vals, idxs = [], []
    for i in range(n_out):  # NOTE: a loop over output cells, never over pixels
        start, end = (i * n) // n_out, -(-((i + 1) * n) // n_out)
        cell = x[..., start:end] if axis == -1 else x[..., start:end, :]
        v, j = cell.max(dim=axis)
        vals.append(v)
        idxs.append(j._physical() + start)
    return stack(vals, axis), xp.stack(idxs, axis)


def _adaptive_max(input: Tensor, output_size: Any, dims: int, op: str,
                  return_indices: bool) -> Any:
    """Adaptive max pooling of the last ``dims`` axes. A max over a rectangle is a max over
    rows of maxima over columns, and taking the first maximum at both stages gives the first
    maximum in row-major order, so the indices (and the gradient's route) are PyTorch's."""
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input {layout}, got "
                           f"shape {tuple(input.shape)}")
    out = _adaptive_size(output_size, input.shape[-dims:], op)
    if len(out) != dims or min(out) < 1:
        raise ValueError(f"{op}: output_size must be {dims} positive int(s), got "
                         f"{output_size!r}")
    vals, cols = _adaptive_max_axis(input, -1, out[-1])
    if dims == 1:
        return (vals, Tensor._wrap(cols)) if return_indices else vals
    vals, rows = _adaptive_max_axis(vals, -2, out[0])
    if not return_indices:
        return vals
    flat = rows * input.shape[-1] + xp.take_along_axis(cols, rows, axis=-2)
    return vals, Tensor._wrap(flat)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of the last axis to ``output_size`` cells
    (``torch.nn.functional.adaptive_max_pool1d``): cell i covers ⌊i·L/L_out⌋ …
    ⌈(i+1)·L/L_out⌉ − 1. ``return_indices`` also gives each maximum's position (int64).

    Example:
        >>> import chainrule as cr
        >>> adaptive_max_pool1d(cr.tensor([[1.0, 3.0, 2.0, 5.0, 4.0]]), 2).tolist()
        [[3.0, 5.0]]
    """
    return _adaptive_max(input, output_size, 1, "adaptive_max_pool1d", return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, H, W) or (C, H, W) to a fixed output size
    (``torch.nn.functional.adaptive_max_pool2d``; ``None`` keeps that input size); the
    gradient flows to each cell's first maximum. ``return_indices`` also gives its flat
    h·W + w position (int64).

    Example:
        >>> import chainrule as cr
        >>> adaptive_max_pool2d(cr.arange(16.0).reshape(1, 4, 4), (1, 2)).tolist()
        [[[13.0, 15.0]]]
    """
    return _adaptive_max(input, output_size, 2, "adaptive_max_pool2d", return_indices)


__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]
