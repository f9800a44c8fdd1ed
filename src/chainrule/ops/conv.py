"""Convolution: conv1d/2d/3d (unfold/fold live in ``ops/fold.py``, the transposed functions in
``ops/conv_transpose.py``).

Three primitives close under differentiation, so every backward is itself differentiable:

- ``Conv2d(x, w)``: y = x ⋆ w (cross-correlation);
- ``ConvTranspose2d(y, w)``: the adjoint of ``Conv2d`` in x (``∂/∂x`` of a convolution);
- ``Conv2dWeight(x, g)``: the adjoint of ``Conv2d`` in w (``∂/∂w`` of a convolution).

Each is bilinear, so each one's partials are the other two. One GEMM does the work (per group):
the input is copied once into an im2col buffer laid out (C·kh·kw, N·Ho·Wo), the order the GEMM
wants, and the output comes out channel-major (O, N, Ho, Wo) and is returned as an NCHW view
(no transpose copy). The forward's buffer is reused for the weight gradient.

The padding, window and GEMM helpers live in ``ops/windows.py`` (shared with fold and pool).
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import backend, kernels
from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.linalg import _dtype_mismatch
from chainrule.ops.windows import (
    Pads,
    _cnhw,
    _col2im,
    _gemm,
    _im2col,
    _out_size,
    _rows2im,
    _tuple,
)
from chainrule.tensor import Tensor


class _ConvBase(Op):
    stride: tuple[int, ...]
    pads: Pads
    dilation: tuple[int, ...]
    groups: int

    def _geom(self) -> dict[str, Any]:
        return {"stride": self.stride, "pads": self.pads, "dilation": self.dilation,
                "groups": self.groups}

    def _out(self, size: Any, kernel: Any) -> tuple[int, ...]:
        """The output's spatial size for an input of spatial ``size`` and a ``kernel``."""
        return tuple(_out_size(n, k, s, d, p0, p1) for n, k, s, d, (p0, p1) in
                     zip(size, kernel, self.stride, self.dilation, self.pads))


def _spatial_sum(g: Tensor) -> Tensor:
    """The bias gradient: g summed over the batch and every spatial axis."""
    return g.sum((0, *range(2, g.ndim)))


def _bias_tangent(tb: Tensor, nd: int) -> Tensor:
    return tb.reshape(1, -1, *(1,) * nd)


def _channel_first(out: Array) -> Array:
    """A channel-major (C, N, *spatial) buffer as an (N, C, *spatial) view."""
    return out.transpose(1, 0, *range(2, out.ndim))


@register
class Conv2d(_ConvBase):
    """y[n,o] = Σ_c,i,j w[o,c,i,j] · x[n, c, p·s + i·d − pad, q·s + j·d − pad] (+ b[o]).
    ∂/∂x = conv_transpose2d(g, w), ∂/∂w = Σ_n,p,q g[n,o,p,q]·x[window], ∂/∂b = Σ_n,p,q g.

    The computation is the same for any number of spatial axes (``Conv3d`` is this op over
    (D, H, W)); the registered name says which."""

    name = "conv2d"
    batch_rule = staticmethod(batching.fold_into_n)

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        if x.dtype is not w.dtype or (b is not None and b.dtype is not w.dtype):
            raise _dtype_mismatch(self, x, w, *(() if b is None else (b,)))
        n, c, *size = x.shape
        o, cg, *k = w.shape
        g = self.groups
        if c != cg * g or o % g:
            raise RuntimeError(f"{self.name}: input of shape {tuple(x.shape)} and weight of "
                               f"shape {tuple(w.shape)} do not match with groups={g} (expected "
                               f"{cg * g} input channels)")
        eff = tuple(di * (ki - 1) + 1 for di, ki in zip(self.dilation, k))
        padded = tuple(ni + p0 + p1 for ni, (p0, p1) in zip(size, self.pads))
        if any(e > p for e, p in zip(eff, padded)):
            raise RuntimeError(f"{self.name}: kernel {eff} is larger than the padded input "
                               f"{padded}")
        out_size = self._out(size, k)
        cols = _im2col(x, tuple(k), self.stride, self.dilation, self.pads, out_size)
        self._cols = cols  # reused by the weight gradient
        out = _gemm(w.reshape(g, o // g, -1), cols.reshape(g, cg * math.prod(k), cols.shape[1]))
        out = out.reshape(o, n, *out_size)
        if b is not None:
            out += b.reshape(o, *(1,) * (len(size) + 1))
        return _channel_first(out)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        geom = self._geom()
        _, transpose, weight = _FAMILY[type(self)]
        gx = gw = None
        if need[0]:
            gx = transpose.apply(g, w, **_transpose_geom(geom, x.shape, w.shape))
        if need[1]:
            # the forward's im2col buffer, handed over once (a retained graph recomputes it)
            cols = self.__dict__.pop("_cols", None)
            gw = weight.apply(x, g, kernel=tuple(w.shape[2:]), cols=cols, **geom)
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (_spatial_sum(g) if need[2] else None)

    def jvp(self, tx: Tensor | None, tw: Tensor | None, tb: Tensor | None = None) -> Tensor | None:
        x, w = self.inputs[0], self.inputs[1]
        conv = type(self)
        out = conv.apply(tx, w, **self._geom()) if tx is not None else None
        if tw is not None:
            term = conv.apply(x, tw, **self._geom())
            out = term if out is None else out + term
        if tb is not None:
            term = _bias_tangent(tb, len(self.stride))
            out = term if out is None else out + term
        return out


def _transpose_geom(geom: dict[str, Any], x_shape: tuple[int, ...],
                    w_shape: tuple[int, ...]) -> dict[str, Any]:
    """ConvTranspose params that map a conv's output gradient back onto its input x."""
    return {"stride": geom["stride"], "top_left": tuple(p0 for p0, _ in geom["pads"]),
            "dilation": geom["dilation"], "groups": geom["groups"],
            "size": tuple(x_shape[2:])}


@register
class ConvTranspose2d(Op):
    """The adjoint of conv2d in its input: y (N, Cin, H, W), w (Cin, Cout/groups, kh, kw) →
    (N, Cout, *size), each input pixel scattering w·y into the window it came from, then
    cropping ``top_left``.  ∂/∂y = conv2d(g, w), ∂/∂w = conv2d_weight(g, y), ∂/∂b = Σ g.
    (Any number of spatial axes; ``ConvTranspose3d`` is this op over (D, H, W).)"""

    name = "conv_transpose2d"
    batch_rule = staticmethod(batching.fold_into_n)
    stride: tuple[int, ...]
    top_left: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int
    size: tuple[int, ...]

    def forward(self, y: Array, w: Array, b: Array | None = None) -> Array:
        if y.dtype is not w.dtype or (b is not None and b.dtype is not w.dtype):
            raise _dtype_mismatch(self, y, w, *(() if b is None else (b,)))
        n, cin, *size = y.shape
        ci, cog, *k = w.shape
        nd, g = len(k), self.groups
        if cin != ci or cin % g:
            raise RuntimeError(f"{self.name}: input of shape {tuple(y.shape)} and weight "
                               f"of shape {tuple(w.shape)} do not match with groups={g}")
        kk = math.prod(k)
        if g == 1 and nd == 2 and kernels.fits(y, w):
            # NOTE: one row of columns per input pixel, yᵀ·w (N·H·W, kh·kw·C_out): BLAS
            # computes this orientation 1.5x faster than its transpose (conv2's input gradient
            # in the worksheet ConvNet: 0.99 vs 1.52 ms on 2 threads, 2.0 vs 3.0 on 1), and
            # the compiled rows2im scatters it back as fast as col2im does the transpose
            wm = xp.ascontiguousarray(w.transpose(0, *range(2, nd + 2), 1))
            rows = backend.matmul(_cnhw(y, 1)[0].T, wm.reshape(cin, kk * cog))
            out = _rows2im(rows.reshape(n, *size, *k, cog), self.stride, self.dilation,
                           self.top_left, self.size)
        elif g == 1:  # rows ordered (*k, C_out): each offset's block is contiguous for col2im
            wm = xp.ascontiguousarray(w.transpose(*range(2, nd + 2), 1, 0))
            cols = backend.matmul(wm.reshape(kk * cog, cin), _cnhw(y, 1)[0])
            cols = cols.reshape(*k, cog, n, *size)
            cols = cols.transpose(nd, nd + 1, *range(nd), *range(nd + 2, 2 * nd + 2))
            out = _col2im(cols, self.stride, self.dilation, self.top_left, self.size)
        else:
            wm = w.reshape(g, cin // g, cog * kk).transpose(0, 2, 1)
            cols = _gemm(wm, _cnhw(y, g)).reshape(g * cog, *k, n, *size)
            cols = cols.transpose(0, nd + 1, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2))
            out = _col2im(cols, self.stride, self.dilation, self.top_left, self.size)
        if b is not None:
            out += b.reshape(-1, *(1,) * (nd + 1))
        return _channel_first(out)

    def _conv_geom(self) -> dict[str, Any]:
        """Conv params under which g (the output's shape) maps back to y's shape."""
        y, w = self.inputs[0], self.inputs[1]
        pads = []
        for a in range(len(self.stride)):
            k, s, d = w.shape[2 + a], self.stride[a], self.dilation[a]
            full = (y.shape[2 + a] - 1) * s + d * (k - 1) + 1
            pads.append((self.top_left[a], full - self.top_left[a] - self.size[a]))
        return {"stride": self.stride, "pads": tuple(pads), "dilation": self.dilation,
                "groups": self.groups}

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        y, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        geom = self._conv_geom()
        conv, _, weight = _FAMILY[type(self)]
        gy = conv.apply(g, w, **geom) if need[0] else None
        gw = weight.apply(g, y, kernel=tuple(w.shape[2:]), **geom) if need[1] else None
        if len(self.inputs) == 2:
            return gy, gw
        return gy, gw, (_spatial_sum(g) if need[2] else None)

    def jvp(self, ty: Tensor | None, tw: Tensor | None, tb: Tensor | None = None) -> Tensor | None:
        y, w = self.inputs[0], self.inputs[1]
        op = type(self)
        out = op.apply(ty, w, **self.params) if ty is not None else None
        if tw is not None:
            term = op.apply(y, tw, **self.params)
            out = term if out is None else out + term
        if tb is not None:
            term = _bias_tangent(tb, len(self.stride))
            out = term if out is None else out + term
        return out


@register
class Conv2dWeight(_ConvBase):
    """The adjoint of conv2d in its weight: gw[o,c,i,j] = Σ_n,p,q g[n,o,p,q]·x[window].
    ∂/∂x = conv_transpose2d(g, gg), ∂/∂g = conv2d(x, gg). (Any number of spatial axes.)"""

    name = "conv2d_weight"
    batch_rule = staticmethod(batching.conv_weight)
    kernel: tuple[int, ...]
    cols: Array | None = None

    def forward(self, x: Array, g: Array) -> Array:
        gr = self.groups
        out_size = self._out(x.shape[2:], self.kernel)
        if x.ndim != g.ndim or g.shape[0] != x.shape[0] or g.shape[2:] != out_size:
            raise RuntimeError(f"{self.name}: gradient of shape {tuple(g.shape)} does not fit "
                               f"input of shape {tuple(x.shape)} (expected (N, C_out, "
                               f"*{out_size}) with N = {x.shape[0]})")
        cols = self.cols
        if cols is None:
            cols = _im2col(x, self.kernel, self.stride, self.dilation, self.pads, g.shape[2:])
        gm = _cnhw(g, gr)
        # NOTE: as (cols · gᵀ)ᵀ: BLAS takes the long inner dimension (N·∏out) 1.4x faster with
        # the im2col buffer as the row-major left operand than as a transposed right one
        out = _gemm(cols.reshape(gr, cols.shape[0] // gr, cols.shape[1]), gm.transpose(0, 2, 1))
        return out.transpose(0, 2, 1).reshape(g.shape[1], x.shape[1] // gr, *self.kernel)

    def backward(self, gg: Tensor) -> tuple[Tensor | None, ...]:
        x, g = self.inputs
        need = self.needs_input_grad
        geom = self._geom()
        conv, transpose, _ = _FAMILY[type(self)]
        gx = transpose.apply(g, gg, **_transpose_geom(geom, x.shape, gg.shape)) \
            if need[0] else None
        return gx, (conv.apply(x, gg, **geom) if need[1] else None)

    def jvp(self, tx: Tensor | None, tg: Tensor | None) -> Tensor | None:
        x, g = self.inputs
        geom = self._geom()
        op = type(self)
        out = op.apply(tx, g, kernel=self.kernel, **geom) if tx is not None else None
        if tg is not None:
            term = op.apply(x, tg, kernel=self.kernel, cols=self.cols, **geom)
            out = term if out is None else out + term
        return out


@register
class Conv3d(Conv2d):
    """conv2d over three spatial axes: x (N, C, D, H, W), w (O, C/groups, kd, kh, kw).
    ∂/∂x = conv_transpose3d(g, w), ∂/∂w = conv3d_weight(x, g), ∂/∂b = Σ g."""

    name = "conv3d"


@register
class ConvTranspose3d(ConvTranspose2d):
    """conv_transpose2d over three spatial axes, the adjoint of conv3d in its input.
    ∂/∂y = conv3d(g, w), ∂/∂w = conv3d_weight(g, y), ∂/∂b = Σ g."""

    name = "conv_transpose3d"


@register
class Conv3dWeight(Conv2dWeight):
    """conv2d_weight over three spatial axes, the adjoint of conv3d in its weight.
    ∂/∂x = conv_transpose3d(g, gg), ∂/∂g = conv3d(x, gg)."""

    name = "conv3d_weight"


_FAMILY: dict[type[Op], tuple[type[Op], type[Op], type[Op]]] = {
    op: family for family in ((Conv2d, ConvTranspose2d, Conv2dWeight),
                              (Conv3d, ConvTranspose3d, Conv3dWeight)) for op in family}
"""Each convolution primitive's (conv, transpose, weight) companions of the same rank."""


# ---- public functions ---------------------------------------------------------------------


def _batched(x: Tensor, dims: int, op: str, layout: str) -> tuple[Tensor, bool]:
    if x.ndim == dims + 1:
        return x.unsqueeze(0), True
    if x.ndim != dims + 2:
        raise RuntimeError(f"{op}: expected a {dims + 2}-D input {layout} (or {dims + 1}-D "
                           f"unbatched), got shape {tuple(x.shape)}")
    return x, False


def _conv_pads(padding: Any, k: tuple[int, ...], d: tuple[int, ...], s: tuple[int, ...],
               op: str) -> tuple[tuple[int, int], ...]:
    n = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{op}: padding must be 'same', 'valid', an int or a tuple, "
                             f"got {padding!r}")
        if any(v != 1 for v in s):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride {s})")
        totals = [di * (ki - 1) for ki, di in zip(k, d)]
        return tuple((tot // 2, tot - tot // 2) for tot in totals)
    p = _tuple(padding, n, "padding", op)
    if any(v < 0 for v in p):
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return tuple((v, v) for v in p)


def _check_common(stride: tuple[int, ...], dilation: tuple[int, ...], groups: int,
                  op: str) -> None:
    if any(v < 1 for v in stride):
        raise ValueError(f"{op}: stride must be positive, got {stride}")
    if any(v < 1 for v in dilation):
        raise ValueError(f"{op}: dilation must be positive, got {dilation}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be positive, got {groups}")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation (``torch.nn.functional.conv2d``).

    Args:
        input: (N, C_in, H, W), or (C_in, H, W) unbatched.
        weight: (C_out, C_in / groups, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: int or (sH, sW).
        padding: int, (pH, pW), ``'valid'`` (none) or ``'same'`` (output size = input size,
            stride 1; the odd extra of an even kernel goes bottom/right, as in PyTorch).
        groups: input and output channels split into this many independent convolutions.

    Returns:
        (N, C_out, H_out, W_out), H_out = ⌊(H + 2p − d·(kH − 1) − 1) / s⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> conv2d(cr.ones(1, 1, 4, 4), cr.ones(1, 1, 3, 3)).shape
        chainrule.Size([1, 1, 2, 2])
    """
    return _conv(Conv2d, input, weight, bias, stride, padding, dilation, groups)


def _conv(op: type[Op], input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
          padding: Any, dilation: Any, groups: int) -> Tensor:
    """conv2d/conv3d: argument checks, then the primitive ``op``."""
    nd, name = (2, "conv2d") if op is Conv2d else (3, "conv3d")
    layout, kernel = _LAYOUTS[nd]
    x, unbatched = _batched(input, nd, name, layout)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: expected a {nd + 2}-D weight (C_out, C_in/groups, "
                           f"{kernel}), got shape {tuple(weight.shape)}")
    s = _tuple(stride, nd, "stride", name)
    d = _tuple(dilation, nd, "dilation", name)
    _check_common(s, d, groups, name)
    pads = _conv_pads(padding, tuple(weight.shape[2:]), d, s, name)
    args = (x, weight) if bias is None else (x, weight, bias)
    out = op.apply(*args, stride=s, pads=pads, dilation=d, groups=int(groups))
    return out.squeeze(0) if unbatched else out


_LAYOUTS = {2: ("(N, C, H, W)", "kH, kW"), 3: ("(N, C, D, H, W)", "kD, kH, kW")}


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation (``torch.nn.functional.conv3d``).

    Args:
        input: (N, C_in, D, H, W), or (C_in, D, H, W) unbatched.
        weight: (C_out, C_in / groups, kD, kH, kW).
        bias: (C_out,) or None.
        stride, dilation: int or (sD, sH, sW).
        padding: int, a 3-tuple, ``'valid'`` or ``'same'`` (as for :func:`conv2d`).
        groups: input and output channels split into this many independent convolutions.

    Returns:
        (N, C_out, D_out, H_out, W_out), each size ⌊(n + 2p − d·(k − 1) − 1) / s⌋ + 1.

    Example:
        >>> import chainrule as cr
        >>> conv3d(cr.ones(1, 1, 4, 4, 4), cr.ones(2, 1, 3, 3, 3)).shape
        chainrule.Size([1, 2, 2, 2, 2])
    """
    return _conv(Conv3d, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation (``torch.nn.functional.conv1d``): input (N, C_in, L) or
    (C_in, L), weight (C_out, C_in / groups, k); computed as a conv2d of height 1.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> x = cr.tensor([[[1.0, 2.0, 3.0, 4.0]]])
        >>> F.conv1d(x, cr.tensor([[[1.0, -1.0]]]))
        tensor([[[-1., -1., -1.]]])
    """
    x, unbatched = _batched(input, 1, "conv1d", "(N, C, L)")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D weight (C_out, C_in/groups, k), got shape "
                           f"{tuple(weight.shape)}")
    s, d = _tuple(stride, 1, "stride", "conv1d"), _tuple(dilation, 1, "dilation", "conv1d")
    _check_common(s, d, groups, "conv1d")
    ((p0, p1),) = _conv_pads(padding, tuple(weight.shape[2:]), d, s, "conv1d")
    if d[0] * (weight.shape[2] - 1) + 1 > x.shape[2] + p0 + p1:
        raise RuntimeError(f"conv1d: kernel ({d[0] * (weight.shape[2] - 1) + 1},) is larger "
                           f"than the padded input ({x.shape[2] + p0 + p1},)")
    args = (x.unsqueeze(2), weight.unsqueeze(2)) + (() if bias is None else (bias,))
    out = Conv2d.apply(*args, stride=(1, s[0]), pads=((0, 0), (p0, p1)), dilation=(1, d[0]),
                       groups=int(groups)).squeeze(2)
    return out.squeeze(0) if unbatched else out
