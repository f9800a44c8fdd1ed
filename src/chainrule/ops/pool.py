"""Pooling: max_pool1d/2d/3d (a primitive that keeps the argmax) and avg_pool1d/2d/3d
(composites: an average over a box is separable, so it is one matmul per axis with constant
pooling matrices, A_h · x · A_wᵀ, and its gradients come for free). Adaptive pooling lives in
``ops/adaptive_pool.py``.

Max-pool works on kernel offsets, never on pixels: the output is the running maximum of the
strided slices of the padded input, one per kernel offset, and ``argmax`` (which offset won,
first one on ties, as in PyTorch) is kept for the backward, which writes g into each offset's
slice where it won. Over two spatial axes the forward and that backward run one compiled pass
instead (``kernels/pool.py``) where the kernels are on.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from chainrule import kernels
from chainrule.autograd.function import Op, register
from chainrule.backend import Array, is_floating, xp
from chainrule.ops import batching
from chainrule.ops.elementwise import where
from chainrule.ops.linalg import matmul
from chainrule.ops.windows import Pads, _pad, _tuple
from chainrule.tensor import Tensor


class _Offsets(Op):
    """Shared geometry of the max-pool ops: the strided slice of each kernel offset (over the
    last ``len(kernel)`` axes)."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: Pads
    out_size: tuple[int, ...]

    def _slices(self, xpad: Array) -> list[Array]:
        spans = [(o - 1) * s + 1 for o, s in zip(self.out_size, self.stride)]
        return [xpad[(Ellipsis, *(slice(i * d, i * d + sp, s) for i, d, sp, s in
                                  zip(offs, self.dilation, spans, self.stride)))]
                for offs in itertools.product(*(range(k) for k in self.kernel))]


@register
class MaxPool2d(_Offsets):
    """y[n,c,p,q] = max over the window at (p·s − pad, q·s − pad) of x.
    ∂/∂x = g routed to the window's (first) maximum; jvp = the tangent at the maximum.
    (Any number of spatial axes; ``MaxPool3d`` is this op over (D, H, W).)"""

    name = "max_pool2d"
    batch_rule = staticmethod(batching.fold_into_n)
    saves_inputs = False

    def forward(self, x: Array) -> Array:
        low = -xp.inf if is_floating(x.dtype) else xp.iinfo(x.dtype).min
        xpad = _pad(x, self.pads, low)
        arg_dtype = xp.int16 if math.prod(self.kernel) < 2**15 else xp.int32
        if len(self.kernel) == 2 and kernels.fits(x):  # one compiled pass
            res = kernels.pool.max_pool2d(xpad, self.kernel, self.stride, self.dilation,
                                          self.out_size, arg_dtype)
            if res is not None:
                out, self.argmax = res
                return out
        slices = self._slices(xpad)
        out = slices[0].copy() if len(slices) == 1 else xp.maximum(slices[0], slices[1])
        for s in slices[2:]:
            xp.maximum(out, s, out=out)
        # argmax = the number of offsets before the first that attains the max (first wins, as
        # in PyTorch), counted with cheap comparisons rather than masked writes.
        arg = xp.zeros(out.shape, arg_dtype)
        found = slices[0] == out
        for s in slices[1:]:
            arg += ~found
            found |= s == out
        self.argmax = arg
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (MaxPoolScatter.apply(g, argmax=self.argmax, shape=self.inputs[0].shape,
                                     **self.params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return MaxPoolGather.apply(t, argmax=self.argmax, **self.params)


@register
class MaxPool3d(MaxPool2d):
    """max_pool2d over three spatial axes: y = max over each (kd, kh, kw) window of x.
    ∂/∂x = g routed to the window's (first) maximum; jvp = the tangent at the maximum."""

    name = "max_pool3d"


@register
class MaxPoolScatter(_Offsets):
    """zeros(shape) with g[n,c,p,q] written at the argmax of window (p, q) (summed where windows
    overlap); the backward of max_pool2d.  ∂/∂g = max_pool_gather(gg)."""

    name = "max_pool_scatter"
    batch_rule = staticmethod(batching.max_pool_argmax)
    saves_inputs = False
    argmax: Array
    shape: tuple[int, ...]

    def forward(self, g: Array) -> Array:
        n, c, *size = self.shape
        padded = tuple(m + p0 + p1 for m, (p0, p1) in zip(size, self.pads))
        crop = tuple((-p0, -p1) for p0, p1 in self.pads)
        if len(size) == 2 and kernels.fits(g):
            return _pad(kernels.pool.max_pool_scatter(g, self.argmax, self.kernel, self.stride,
                                                      self.dilation, padded), crop)
        if g.dtype.itemsize in _BITS and not any(p for pair in self.pads for p in pair) and all(
                s == k and d == 1 and m == o * k for s, k, d, m, o in
                zip(self.stride, self.kernel, self.dilation, size, self.out_size)):
            return self._tiles(g, n, c)
        # channel-major like the convolutions' outputs, so the GEMMs downstream need no copy
        buf = xp.zeros((c, n, *padded), g.dtype).transpose(1, 0, *range(2, len(size) + 2))
        overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride,
                                                              self.dilation))
        for k, view in enumerate(self._slices(buf)):  # selected, not multiplied: 0·NaN is NaN
            if overlap:
                view += xp.where(self.argmax == k, g, 0)
            else:
                xp.copyto(view, g, where=self.argmax == k)
        return _pad(buf, crop)

    def _tiles(self, g: Array, n: int, c: int) -> Array:
        """The windows tile the input exactly (stride = kernel, no padding or dilation): each
        kernel offset's slice is written once, g where it won and 0 elsewhere.

        NOTE: selected by a bitwise AND with an all-ones/all-zeros mask, not ``copyto(where=)``
        or ``where`` (5x slower on the random win pattern) nor a multiply (0·NaN is NaN)."""
        bits = _BITS[g.dtype.itemsize]
        tiled = [d for o, k in zip(self.out_size, self.kernel) for d in (o, k)]
        buf = xp.empty((c, n, *tiled), g.dtype)  # channel-major like the convolutions' outputs
        source = g.view(bits)
        for k, offs in enumerate(itertools.product(*(range(k) for k in self.kernel))):
            view = buf[(slice(None), slice(None), *(x for i in offs for x in (slice(None), i)))]
            keep = (self.argmax == k).astype(bits)
            xp.negative(keep, out=keep)
            xp.bitwise_and(source, keep, out=view.swapaxes(0, 1).view(bits))
        size = [o * k for o, k in zip(self.out_size, self.kernel)]
        return buf.reshape(c, n, *size).swapaxes(0, 1)

    def backward(self, gg: Tensor) -> tuple[Tensor | None, ...]:
        params = {k: v for k, v in self.params.items() if k != "shape"}
        return (MaxPoolGather.apply(gg, **params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return MaxPoolScatter.apply(t, **self.params)


_BITS = {2: xp.int16, 4: xp.int32, 8: xp.int64}
"""Integer types by item size, to select floating values bit for bit."""


@register
class MaxPoolGather(_Offsets):
    """y[n,c,p,q] = x at the argmax of window (p, q), the argmax fixed (max-pool's derivative).
    ∂/∂x = max_pool_scatter(g)."""

    name = "max_pool_gather"
    batch_rule = staticmethod(batching.max_pool_argmax)
    saves_inputs = False
    argmax: Array

    def forward(self, x: Array) -> Array:
        out = xp.zeros(self.argmax.shape, x.dtype)
        for k, view in enumerate(self._slices(_pad(x, self.pads))):
            xp.copyto(out, view, where=self.argmax == k)
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (MaxPoolScatter.apply(g, shape=self.inputs[0].shape, **self.params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return MaxPoolGather.apply(t, **self.params)


# ---- geometry -----------------------------------------------------------------------------


def _pool_len(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:  # the last window must start inside the input
        out -= 1
    return out


def _pool_args(op: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dims: int,
               dilation: Any = 1) -> tuple[tuple[int, ...], ...]:
    if x.ndim not in (dims + 1, dims + 2):
        layout = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[dims]
        raise RuntimeError(f"{op}: expected a {dims + 1}-D or {dims + 2}-D input {layout}, got "
                           f"shape {tuple(x.shape)}")
    k = _tuple(kernel_size, dims, "kernel_size", op)
    s = k if stride is None or stride == [] else _tuple(stride, dims, "stride", op)
    p = _tuple(padding, dims, "padding", op)
    d = _tuple(dilation, dims, "dilation", op)
    if any(v < 1 for v in k + s + d):
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive, got "
                         f"kernel_size={k}, stride={s}, dilation={d}")
    if any(pi < 0 or pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding should be at most half of the kernel size, got "
                         f"padding={p} for kernel_size={k}")
    spatial = x.shape[-dims:]
    if min(spatial) < 1:
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got shape {tuple(x.shape)}")
    for n, ki, pi, di in zip(spatial, k, p, d):
        if di * (ki - 1) + 1 > n + 2 * pi:
            eff = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
            padded = tuple(nn + 2 * pp for nn, pp in zip(spatial, p))
            raise RuntimeError(f"{op}: kernel {eff} is larger than the padded input {padded}")
    return k, s, p, d


def _unbatched(x: Tensor, dims: int) -> tuple[Tensor, bool]:
    return (x.unsqueeze(0), True) if x.ndim == dims + 1 else (x, False)


def _max_pool(x: Tensor, k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
              d: tuple[int, ...], ceil_mode: bool, return_indices: bool,
              op: type[MaxPool2d] = MaxPool2d) -> Any:
    size = x.shape[2:]
    out = tuple(_pool_len(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip(size, k, s, p, d))
    pads = tuple((pi, pi + max(0, (o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi)))
                 for o, n, ki, si, pi, di in zip(out, size, k, s, p, d))
    y = op.apply(x, kernel=k, stride=s, dilation=d, pads=pads, out_size=out)
    if not return_indices:
        return y
    arg = y.grad_fn.argmax if y.grad_fn is not None else _argmax_of(x, k, s, d, pads, out)
    offsets = xp.unravel_index(arg, k)  # each maximum's kernel offset, per spatial axis
    nd = len(k)
    flat = xp.zeros(arg.shape, xp.int64)
    for a in range(nd):  # the flat position in the (*spatial) plane, row-major
        start = xp.arange(out[a]).reshape((-1,) + (1,) * (nd - 1 - a)) * s[a] - p[a]
        flat = flat * size[a] + start + offsets[a] * d[a]
    return y, Tensor._wrap(flat)


def _argmax_of(x: Tensor, k: Any, s: Any, d: Any, pads: Pads, out: Any) -> Array:
    op = object.__new__(MaxPool2d)
    op.__dict__.update(kernel=k, stride=s, dilation=d, pads=pads, out_size=out)
    op.forward(x.array)
    return op.argmax


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling (``torch.nn.functional.max_pool2d``); the gradient flows only to each
    window's maximum (the first one on ties).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: int or (kH, kW); ``stride`` defaults to it.
        padding: implicit −∞ padding, at most half the kernel.
        ceil_mode: round the output size up (the last window may hang over the edge).
        return_indices: also return the flat h·W + w position of each maximum (int64).

    Example:
        >>> import chainrule as cr
        >>> max_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    k, s, p, d = _pool_args("max_pool2d", input, kernel_size, stride, padding, 2, dilation)
    x, unbatched = _unbatched(input, 2)
    res = _max_pool(x, k, s, p, d, ceil_mode, return_indices)  # type: ignore[arg-type]
    if unbatched:
        return (res[0].squeeze(0), res[1].squeeze(0)) if return_indices else res.squeeze(0)
    return res


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-D max pooling (``torch.nn.functional.max_pool1d``): (N, C, L) or (C, L).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.max_pool1d(cr.tensor([[[1.0, 5.0, 2.0, 3.0]]]), kernel_size=2)
        tensor([[[5., 3.]]])
    """
    k, s, p, d = _pool_args("max_pool1d", input, kernel_size, stride, padding, 1, dilation)
    x, unbatched = _unbatched(input, 1)
    res = _max_pool(x.unsqueeze(2), (1, k[0]), (1, s[0]), (0, p[0]), (1, d[0]), ceil_mode,
                    return_indices)
    res = (res[0].squeeze(2), res[1].squeeze(2)) if return_indices else res.squeeze(2)
    if unbatched:
        return (res[0].squeeze(0), res[1].squeeze(0)) if return_indices else res.squeeze(0)
    return res


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-D max pooling (``torch.nn.functional.max_pool3d``): (N, C, D, H, W) or (C, D, H, W);
    arguments as for :func:`max_pool2d` with 3-tuples. ``return_indices`` gives the flat
    d·H·W + h·W + w position of each maximum.

    Example:
        >>> import chainrule as cr
        >>> max_pool3d(cr.arange(8.0).reshape(1, 1, 2, 2, 2), 2).tolist()
        [[[[[7.0]]]]]
    """
    k, s, p, d = _pool_args("max_pool3d", input, kernel_size, stride, padding, 3, dilation)
    x, unbatched = _unbatched(input, 3)
    res = _max_pool(x, k, s, p, d, ceil_mode, return_indices, MaxPool3d)
    if unbatched:
        return (res[0].squeeze(0), res[1].squeeze(0)) if return_indices else res.squeeze(0)
    return res


def _avg_matrix(n: int, k: int, s: int, p: int, ceil_mode: bool, include_pad: bool,
                divisor: float | None, dtype: Any) -> Tensor:
    """(n_out, n): row i averages window i of a length-n axis (the separable factor)."""
    n_out = _pool_len(n, k, s, p, 1, ceil_mode)
    m = xp.zeros((n_out, n), dtype)
    for i in range(n_out):  # NOTE: builds a small constant matrix, one row per output position
        start = i * s - p
        end = min(start + k, n + p)
        size = end - start
        start, end = max(start, 0), min(end, n)
        if not include_pad:
            size = end - start
        m[i, start:end] = 1.0 if divisor is not None else 1.0 / size
    return Tensor._wrap(m)


def _separable(x: Tensor, mats: list[Tensor]) -> Tensor:
    """x (..., [[D,] H,] W) with each of the last axes contracted with its pooling matrix.

    A NaN or infinity reaches only the windows that contain it, as in PyTorch (a plain product
    with the matrices would spread 0·NaN to every window of the row).
    """
    if not xp.isfinite(x._physical()).all():
        return _separable_nonfinite(x, mats)
    return _contract(x, mats)


def _contract(x: Tensor, mats: list[Tensor]) -> Tensor:
    out = matmul(x, mats[-1].mT)
    if len(mats) >= 2:
        out = matmul(mats[-2], out)
    if len(mats) == 3:  # D: contract with the (H_out·W_out) plane flattened into columns
        *lead, depth, ho, wo = out.shape
        out = matmul(mats[0], out.reshape(*lead, depth, ho * wo)).reshape(*lead, -1, ho, wo)
    return out


def _separable_nonfinite(x: Tensor, mats: list[Tensor]) -> Tensor:
    """``_contract`` of the finite part, then NaN, +inf or −inf in each window that holds one
    (NaN where both infinities meet, as their sum is)."""
    finite = xp.isfinite(x.array)
    out = _contract(where(Tensor._wrap(finite), x, 0.0), mats)
    masks = [Tensor._wrap((m.array != 0).astype(m.dtype)) for m in mats]
    hits = [_contract(Tensor._wrap(sel.astype(x.dtype)), masks).array > 0
            for sel in (xp.isnan(x.array), x.array == xp.inf, x.array == -xp.inf)]
    nan = hits[0] | (hits[1] & hits[2])
    special = xp.where(nan, xp.nan, xp.where(hits[1], xp.inf, -xp.inf)).astype(out.dtype)
    return where(Tensor._wrap(nan | hits[1] | hits[2]), Tensor._wrap(special), out)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling (``torch.nn.functional.avg_pool2d``): (N, C, H, W) or (C, H, W).

    With ``count_include_pad`` (the default) zero padding counts in the divisor.

    Example:
        >>> import chainrule as cr
        >>> avg_pool2d(cr.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
        [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    k, s, p, _ = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 2)
    if not is_floating(input.dtype):
        raise RuntimeError(f"avg_pool2d: expected a floating input, got {input.dtype}")
    mats = [_avg_matrix(n, ki, si, pi, ceil_mode, count_include_pad, divisor_override,
                        input.dtype) for n, ki, si, pi in zip(input.shape[-2:], k, s, p)]
    out = _separable(input, mats)
    return out if divisor_override is None else out * (1.0 / divisor_override)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling (``torch.nn.functional.avg_pool1d``): (N, C, L) or (C, L).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.avg_pool1d(cr.tensor([[[1.0, 2.0, 3.0, 4.0]]]), kernel_size=2)
        tensor([[[1.5000, 3.5000]]])
    """
    k, s, p, _ = _pool_args("avg_pool1d", input, kernel_size, stride, padding, 1)
    if not is_floating(input.dtype):
        raise RuntimeError(f"avg_pool1d: expected a floating input, got {input.dtype}")
    m = _avg_matrix(input.shape[-1], k[0], s[0], p[0], ceil_mode, count_include_pad, None,
                    input.dtype)
    return _separable(input, [m])


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """3-D average pooling (``torch.nn.functional.avg_pool3d``): (N, C, D, H, W) or
    (C, D, H, W); arguments as for :func:`avg_pool2d` with 3-tuples.

    Example:
        >>> import chainrule as cr
        >>> avg_pool3d(cr.arange(8.0).reshape(1, 1, 2, 2, 2), 2).tolist()
        [[[[[3.5]]]]]
    """
    k, s, p, _ = _pool_args("avg_pool3d", input, kernel_size, stride, padding, 3)
    if input.dtype.kind != "f":
        raise RuntimeError(f"avg_pool3d: expected a floating input, got {input.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool3d: divisor must be not zero")
    mats = [_avg_matrix(n, ki, si, pi, ceil_mode, count_include_pad, divisor_override,
                        input.dtype) for n, ki, si, pi in zip(input.shape[-3:], k, s, p)]
    out = _separable(input, mats)
    return out if divisor_override is None else out * (1.0 / divisor_override)


__all__ = ["avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d"]
