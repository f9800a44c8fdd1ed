"""Pooling: max_pool1d/2d (a primitive that keeps the argmax), avg_pool1d/2d and
adaptive_avg_pool1d/2d (composites: an average over a rectangle is separable, so it is two
matmuls with constant pooling matrices, A_h · x · A_wᵀ, and its gradients come for free).

Max-pool works on kernel offsets, never on pixels: the output is the running maximum of the
kh·kw strided slices of the padded input, and ``argmax`` (which offset won, first one on ties,
as in PyTorch) is kept for the backward, which writes g into each offset's slice where it won.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, is_floating, xp
from chainrule.ops.linalg import matmul
from chainrule.ops.windows import Pads, _pad, _tuple
from chainrule.tensor import Tensor


class _Offsets(Op):
    """Shared geometry of the max-pool ops: the strided slice of each kernel offset."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads
    out_size: tuple[int, int]

    def _slices(self, xpad: Array) -> list[Array]:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        rows, cols = (self.out_size[0] - 1) * sh + 1, (self.out_size[1] - 1) * sw + 1
        return [xpad[:, :, i * dh:i * dh + rows:sh, j * dw:j * dw + cols:sw]
                for i in range(kh) for j in range(kw)]


@register
class MaxPool2d(_Offsets):
    """y[n,c,p,q] = max over the window at (p·s − pad, q·s − pad) of x.
    ∂/∂x = g routed to the window's (first) maximum; jvp = the tangent at the maximum."""

    name = "max_pool2d"
    saves_inputs = False

    def forward(self, x: Array) -> Array:
        low = -xp.inf if is_floating(x.dtype) else xp.iinfo(x.dtype).min
        slices = self._slices(_pad(x, self.pads, low))
        out = slices[0].copy() if len(slices) == 1 else xp.maximum(slices[0], slices[1])
        for s in slices[2:]:
            xp.maximum(out, s, out=out)
        # argmax = the number of offsets before the first that attains the max (first wins, as
        # in PyTorch), counted with cheap comparisons rather than masked writes.
        arg = xp.zeros(out.shape, xp.int16 if len(slices) < 2**15 else xp.int32)
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
class MaxPoolScatter(_Offsets):
    """zeros(shape) with g[n,c,p,q] written at the argmax of window (p, q) (summed where windows
    overlap); the backward of max_pool2d.  ∂/∂g = max_pool_gather(gg)."""

    name = "max_pool_scatter"
    saves_inputs = False
    argmax: Array
    shape: tuple[int, ...]

    def forward(self, g: Array) -> Array:
        (t, b), (lf, r) = self.pads
        n, c, h, w = self.shape
        # channel-major like the convolutions' outputs, so the GEMMs downstream need no copy
        buf = xp.zeros((c, n, h + t + b, w + lf + r), g.dtype).transpose(1, 0, 2, 3)
        overlap = any(s < d * (k - 1) + 1 for k, s, d in zip(self.kernel, self.stride,
                                                              self.dilation))
        for k, view in enumerate(self._slices(buf)):
            if overlap:
                view += g * (self.argmax == k)
            else:
                xp.multiply(g, self.argmax == k, out=view)
        return _pad(buf, ((-t, -b), (-lf, -r)))

    def backward(self, gg: Tensor) -> tuple[Tensor | None, ...]:
        params = {k: v for k, v in self.params.items() if k != "shape"}
        return (MaxPoolGather.apply(gg, **params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return MaxPoolScatter.apply(t, **self.params)


@register
class MaxPoolGather(_Offsets):
    """y[n,c,p,q] = x at the argmax of window (p, q), the argmax fixed (max-pool's derivative).
    ∂/∂x = max_pool_scatter(g)."""

    name = "max_pool_gather"
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
        layout = "(N, C, H, W)" if dims == 2 else "(N, C, L)"
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
    for n, ki, pi, di in zip(spatial, k, p, d):
        if di * (ki - 1) + 1 > n + 2 * pi:
            eff = tuple(dd * (kk - 1) + 1 for kk, dd in zip(k, d))
            padded = tuple(nn + 2 * pp for nn, pp in zip(spatial, p))
            raise RuntimeError(f"{op}: kernel {eff} is larger than the padded input {padded}")
    return k, s, p, d


def _unbatched(x: Tensor, dims: int) -> tuple[Tensor, bool]:
    return (x.unsqueeze(0), True) if x.ndim == dims + 1 else (x, False)


def _max_pool(x: Tensor, k: tuple[int, int], s: tuple[int, int], p: tuple[int, int],
              d: tuple[int, int], ceil_mode: bool, return_indices: bool) -> Any:
    h, w = x.shape[2:]
    out = tuple(_pool_len(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip((h, w), k, s, p, d))
    extra = [max(0, (o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi))
             for o, n, ki, si, pi, di in zip(out, (h, w), k, s, p, d)]
    pads = ((p[0], p[0] + extra[0]), (p[1], p[1] + extra[1]))
    y = MaxPool2d.apply(x, kernel=k, stride=s, dilation=d, pads=pads, out_size=out)
    if not return_indices:
        return y
    arg = y.grad_fn.argmax if y.grad_fn is not None else _argmax_of(x, k, s, d, pads, out)
    ho = xp.arange(out[0]).reshape(-1, 1)
    wo = xp.arange(out[1])
    rows = ho * s[0] + (arg // k[1]) * d[0] - p[0]
    cols = wo * s[1] + (arg % k[1]) * d[1] - p[1]
    return y, Tensor._wrap((rows * w + cols).astype(xp.int64))


def _argmax_of(x: Tensor, k: Any, s: Any, d: Any, pads: Pads, out: Any) -> Array:
    op = object.__new__(MaxPool2d)
    op.__dict__.update(kernel=k, stride=s, dilation=d, pads=pads, out_size=out)
    op.forward(x.data)
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
    """1-D max pooling (``torch.nn.functional.max_pool1d``): (N, C, L) or (C, L)."""
    k, s, p, d = _pool_args("max_pool1d", input, kernel_size, stride, padding, 1, dilation)
    x, unbatched = _unbatched(input, 1)
    res = _max_pool(x.unsqueeze(2), (1, k[0]), (1, s[0]), (0, p[0]), (1, d[0]), ceil_mode,
                    return_indices)
    res = (res[0].squeeze(2), res[1].squeeze(2)) if return_indices else res.squeeze(2)
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


def _adaptive_matrix(n: int, n_out: int, dtype: Any) -> Tensor:
    m = xp.zeros((n_out, n), dtype)
    for i in range(n_out):
        start, end = (i * n) // n_out, -(-((i + 1) * n) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return Tensor._wrap(m)


def _separable(x: Tensor, mats: list[Tensor]) -> Tensor:
    """x (..., [H,] W) with each of the last axes contracted with its pooling matrix."""
    out = matmul(x, mats[-1].mT)
    if len(mats) == 2:
        out = matmul(mats[0], out)
    return out


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
    """1-D average pooling (``torch.nn.functional.avg_pool1d``): (N, C, L) or (C, L)."""
    k, s, p, _ = _pool_args("avg_pool1d", input, kernel_size, stride, padding, 1)
    if not is_floating(input.dtype):
        raise RuntimeError(f"avg_pool1d: expected a floating input, got {input.dtype}")
    m = _avg_matrix(input.shape[-1], k[0], s[0], p[0], ceil_mode, count_include_pad, None,
                    input.dtype)
    return _separable(input, [m])


def _adaptive_size(output_size: Any, spatial: tuple[int, ...]) -> tuple[int, ...]:
    sizes = (output_size,) * len(spatial) if isinstance(output_size, int) or \
        output_size is None else tuple(output_size)
    return tuple(n if o is None else int(o) for o, n in zip(sizes, spatial))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size (``torch.nn.functional.adaptive_avg_pool2d``):
    output cell i covers input rows ⌊i·H/H_out⌋ … ⌈(i+1)·H/H_out⌉ − 1 (``None`` keeps a size)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input (N, C, H, W), "
                           f"got shape {tuple(input.shape)}")
    out = _adaptive_size(output_size, input.shape[-2:])
    if min(out) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    mats = [_adaptive_matrix(n, o, input.dtype) for n, o in zip(input.shape[-2:], out)]
    return _separable(input, mats)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of the last axis to ``output_size`` cells (``adaptive_avg_pool1d``)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d: expected a 2-D or 3-D input (N, C, L), got "
                           f"shape {tuple(input.shape)}")
    (o,) = _adaptive_size(output_size, input.shape[-1:])
    return _separable(input, [_adaptive_matrix(input.shape[-1], o, input.dtype)])


__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d",
           "max_pool1d", "max_pool2d"]
