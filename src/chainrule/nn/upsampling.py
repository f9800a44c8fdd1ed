"""Resizing: ``F.interpolate`` and the ``Upsample`` layers, composed from ``index_select`` and
weighted sums over whole axes (no loops over pixels; gradients come from index_select's).

Source coordinates follow PyTorch's CPU kernels exactly (UpSample.h): for output index i along
an axis of input size n and output size m, with ``scale`` = 1/scale_factor when a scale factor
was given, else n/m (computed in float32 for 'nearest', in the input's precision otherwise):

- 'nearest':        src = min(⌊i·scale⌋, n − 1)   (2-D: m = n copies, m = 2n takes i // 2)
- 'nearest-exact':  src = min(⌊(i + ½)·scale⌋, n − 1)
- 'linear'/'bilinear', align_corners=False: x = max(scale·(i + ½) − ½, 0)
- 'linear'/'bilinear', align_corners=True:  x = i·(n − 1)/(m − 1)  (0 when m = 1)
  then out = (1 − λ)·in[⌊x⌋] + λ·in[min(⌊x⌋ + 1, n − 1)] with λ = x − ⌊x⌋; m = n copies.
- 'area': adaptive average pooling to the output size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule.backend import xp
from chainrule.nn.module import Module
from chainrule.ops.adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from chainrule.tensor import Tensor

_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "area")
_UNSUPPORTED = ("bicubic", "trilinear")


def _opmath(dtype: Any) -> Any:
    """The precision PyTorch computes coordinates in: float64 for float64, else float32."""
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def _scale(n: int, m: int, scale_factor: float | None, ftype: Any) -> Any:
    """PyTorch's ``compute_scales_value``: 1/scale_factor if one was given, else n/m."""
    if scale_factor is not None and scale_factor > 0:
        return ftype(1.0 / scale_factor)
    return ftype(n) / ftype(m)


def _nearest_index(n: int, m: int, scale_factor: float | None, exact: bool,
                   shortcut: bool) -> Any:
    if shortcut and m == n:
        return np.arange(m)
    if shortcut and m == 2 * n:
        return np.arange(m) >> 1
    s = _scale(n, m, scale_factor, np.float32)
    if exact:  # (i + 0.5) is a double in PyTorch, narrowed to float32 by floorf
        src = np.floor(((np.arange(m) + 0.5) * np.float64(s)).astype(np.float32))
    else:
        src = np.floor(np.arange(m, dtype=np.float32) * s)
    return np.minimum(src.astype(np.int64), n - 1)


def _linear_weights(n: int, m: int, align_corners: bool, scale_factor: float | None,
                    dtype: Any) -> tuple[Any, Any, Any, Any]:
    """Indices i0, i1 and weights w0, w1 (of the input's dtype) for one axis."""
    ft = _opmath(dtype)
    i = np.arange(m)
    if m == n:
        return i, i, np.ones(m, dtype), np.zeros(m, dtype)
    if align_corners:
        s = ft(n - 1) / ft(m - 1) if m > 1 else ft(0)
        real = s * i.astype(ft)
    else:
        real = _scale(n, m, scale_factor, ft) * (i.astype(ft) + ft(0.5)) - ft(0.5)
        real = np.maximum(real, ft(0))
    i0 = np.minimum(np.floor(real.astype(np.float32)).astype(np.int64), n - 1)  # floorf
    lam = np.clip(real - i0.astype(ft), ft(0), ft(1)).astype(ft)
    i1 = i0 + (i0 < n - 1)
    return i0, i1, (ft(1) - lam).astype(dtype), lam.astype(dtype)


def _linear_axis(x: Tensor, axis: int, m: int, align_corners: bool,
                 scale_factor: float | None) -> Tensor:
    """Linear interpolation of ``x`` along ``axis`` to size ``m``: w0·x[i0] + w1·x[i1]."""
    n = x.shape[axis]
    i0, i1, w0, w1 = _linear_weights(n, m, align_corners, scale_factor, x.dtype)
    bshape = (m,) + (1,) * (x.ndim - 1 - axis % x.ndim)
    x0 = x.index_select(axis, Tensor._wrap(xp.asarray(i0)))
    x1 = x.index_select(axis, Tensor._wrap(xp.asarray(i1)))
    return (x0 * Tensor._wrap(xp.asarray(w0.reshape(bshape)))
            + x1 * Tensor._wrap(xp.asarray(w1.reshape(bshape))))


def _per_dim(name: str, value: Any, dim: int, spatial: list[int]) -> list[Any]:
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            raise ValueError(f"interpolate: input and {name} must have the same number of "
                             f"spatial dimensions, but got input with spatial dimensions of "
                             f"{spatial} and {name} {tuple(value)}")
        return list(value)
    return [value] * dim


def _output_geometry(input: Tensor, size: Any, scale_factor: Any,
                     recompute_scale_factor: bool | None) -> tuple[list[int], list[Any]]:
    """Output sizes and the scale factors the kernels see (None where recomputed/absent)."""
    dim, spatial = input.ndim - 2, list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        out = _per_dim("size", size, dim, spatial)
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in out):
            raise TypeError(f"interpolate: expected size to be an int or a tuple of ints, got "
                            f"{size!r}")
        return [int(s) for s in out], [None] * dim
    if scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    factors = [float(f) for f in _per_dim("scale_factor", scale_factor, dim, spatial)]
    out = [int(n * f) for n, f in zip(spatial, factors)]  # truncation, as in PyTorch
    return out, [None] * dim if recompute_scale_factor else factors


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``input`` (``torch.nn.functional.interpolate``).

    Args:
        input: (N, C, L) for 'nearest' | 'nearest-exact' | 'linear' | 'area', or (N, C, H, W)
            for 'nearest' | 'nearest-exact' | 'bilinear' | 'area'.
        size: the output spatial size (an int or one per spatial dim).
        scale_factor: multiplier(s) for the spatial size; the output size is ⌊n·scale_factor⌋
            and, unless ``recompute_scale_factor``, the kernels sample with 1/scale_factor.
        mode: the sampling rule (see the module docstring for the exact coordinates).
        align_corners: 'linear'/'bilinear' only: map the corner pixels' centres onto each other
            (default False); must be None for the other modes.

    Returns:
        (N, C, L_out) or (N, C, H_out, W_out), the input's dtype.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[[1.0, 3.0]]])
        >>> cr.nn.functional.interpolate(x, scale_factor=2, mode="linear").tolist()
        [[[1.0, 1.5, 2.5, 3.0]]]
    """
    if mode in _UNSUPPORTED or mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (supported: "
                                  f"{', '.join(map(repr, _MODES))})")
    linear = mode in ("linear", "bilinear")
    if not linear and align_corners is not None:
        raise ValueError(f"interpolate: align_corners option can only be set with the "
                         f"interpolating modes 'linear' | 'bilinear', got mode={mode!r}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"interpolate: only 3-D (N, C, L) and 4-D (N, C, H, W) inputs "
                                  f"are supported, got shape {tuple(input.shape)}")
    if mode == "linear" and input.ndim != 3:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input of shape "
                                  f"{tuple(input.shape)}, but linear mode needs 3D input")
    if mode == "bilinear" and input.ndim != 4:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input of shape "
                                  f"{tuple(input.shape)}, but bilinear mode needs 4D input")
    if mode == "area" and size is None:
        recompute_scale_factor = True  # area always works from an explicit size, as in PyTorch
    out, factors = _output_geometry(input, size, scale_factor, recompute_scale_factor)
    if min(input.shape[2:]) < 1 or min(out) < 1:
        raise ValueError(f"interpolate ({mode}): input and output sizes should be greater than "
                         f"0, but got input {tuple(input.shape[2:])} and output {tuple(out)}")
    if mode == "area":
        pool = adaptive_avg_pool1d if input.ndim == 3 else adaptive_avg_pool2d
        return pool(input, out)
    axes = range(2, input.ndim)
    if linear:
        # innermost (last) axis first, as PyTorch's kernel nests its sums
        for axis, m, f in reversed(list(zip(axes, out, factors))):
            input = _linear_axis(input, axis, m, bool(align_corners), f)
        return input
    # NOTE: PyTorch's 2-D 'nearest' kernel copies when m = n and halves when m = 2n whatever the
    # scale factor; its 1-D kernel always samples with the scale (checked against torch 2.13).
    shortcut = mode == "nearest" and input.ndim == 4
    for axis, m, f in zip(axes, out, factors):
        idx = _nearest_index(input.shape[axis], m, f, mode == "nearest-exact", shortcut)
        input = input.index_select(axis, Tensor._wrap(xp.asarray(idx)))
    return input


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) inputs with ``F.interpolate`` (same arguments).

    Shape:
        (N, C, L) → (N, C, L_out) or (N, C, H, W) → (N, C, H_out, W_out), where each output
        size is ``size`` or ⌊input size · scale_factor⌋.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Upsample(scale_factor=2)(cr.ones(1, 1, 2, 3)).shape
        chainrule.Size([1, 1, 4, 6])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor: Any = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling: ``Upsample(size, scale_factor, mode='nearest')``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.UpsamplingNearest2d(scale_factor=2)(cr.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.]]]])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True`` (as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.UpsamplingBilinear2d(scale_factor=2)(cr.tensor([[[[0.0, 3.0]]]]))
        tensor([[[[0., 1., 2., 3.],
                  [0., 1., 2., 3.]]]])
    """

    def __init__(self, size: int | Sequence[int] | None = None,
                 scale_factor: float | Sequence[float] | None = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d", "interpolate"]
