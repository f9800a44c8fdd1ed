"""Convolution: conv1d/conv2d and conv_transpose2d (unfold/fold live in ``ops/fold.py``).

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

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.windows import Pads, _cnhw, _col2im, _gemm, _im2col, _out_size, _tuple
from chainrule.tensor import Tensor


class _ConvBase(Op):
    stride: tuple[int, int]
    pads: Pads
    dilation: tuple[int, int]
    groups: int

    def _geom(self) -> dict[str, Any]:
        return {"stride": self.stride, "pads": self.pads, "dilation": self.dilation,
                "groups": self.groups}


@register
class Conv2d(_ConvBase):
    """y[n,o] = Σ_c,i,j w[o,c,i,j] · x[n, c, p·s + i·d − pad, q·s + j·d − pad] (+ b[o]).
    ∂/∂x = conv_transpose2d(g, w), ∂/∂w = Σ_n,p,q g[n,o,p,q]·x[window], ∂/∂b = Σ_n,p,q g."""

    name = "conv2d"

    def forward(self, x: Array, w: Array, b: Array | None = None) -> Array:
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        g = self.groups
        if c != cg * g or o % g:
            raise RuntimeError(f"conv2d: input of shape {tuple(x.shape)} and weight of shape "
                               f"{tuple(w.shape)} do not match with groups={g} (expected "
                               f"{cg * g} input channels)")
        (t, bt), (lf, r) = self.pads
        eff = (self.dilation[0] * (kh - 1) + 1, self.dilation[1] * (kw - 1) + 1)
        if eff[0] > h + t + bt or eff[1] > wd + lf + r:
            raise RuntimeError(f"conv2d: kernel {eff} is larger than the padded input "
                               f"({h + t + bt}, {wd + lf + r})")
        ho = _out_size(h, kh, self.stride[0], self.dilation[0], t, bt)
        wo = _out_size(wd, kw, self.stride[1], self.dilation[1], lf, r)
        cols = _im2col(x, (kh, kw), self.stride, self.dilation, self.pads, (ho, wo))
        self._cols = cols  # reused by the weight gradient
        out = _gemm(w.reshape(g, o // g, -1), cols.reshape(g, cg * kh * kw, -1))
        out = out.reshape(o, n, ho, wo)
        if b is not None:
            out += b.reshape(o, 1, 1, 1)
        return out.transpose(1, 0, 2, 3)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        geom = self._geom()
        gx = gw = None
        if need[0]:
            gx = ConvTranspose2d.apply(g, w, **_transpose_geom(geom, x.shape, w.shape))
        if need[1]:
            # the forward's im2col buffer, handed over once (a retained graph recomputes it)
            cols = self.__dict__.pop("_cols", None)
            gw = Conv2dWeight.apply(x, g, kernel=tuple(w.shape[2:]), cols=cols, **geom)
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (g.sum((0, 2, 3)) if need[2] else None)

    def jvp(self, tx: Tensor | None, tw: Tensor | None, tb: Tensor | None = None) -> Tensor | None:
        x, w = self.inputs[0], self.inputs[1]
        out = Conv2d.apply(tx, w, **self._geom()) if tx is not None else None
        if tw is not None:
            term = Conv2d.apply(x, tw, **self._geom())
            out = term if out is None else out + term
        if tb is not None:
            term = tb.reshape(1, -1, 1, 1)
            out = term if out is None else out + term
        return out


def _transpose_geom(geom: dict[str, Any], x_shape: tuple[int, ...],
                    w_shape: tuple[int, ...]) -> dict[str, Any]:
    """ConvTranspose2d params that map a conv's output gradient back onto its input x."""
    (t, _), (lf, _) = geom["pads"]
    return {"stride": geom["stride"], "top_left": (t, lf), "dilation": geom["dilation"],
            "groups": geom["groups"], "size": tuple(x_shape[2:])}


@register
class ConvTranspose2d(Op):
    """The adjoint of conv2d in its input: y (N, Cin, H, W), w (Cin, Cout/groups, kh, kw) →
    (N, Cout, *size), each input pixel scattering w·y into the window it came from, then
    cropping ``top_left``.  ∂/∂y = conv2d(g, w), ∂/∂w = conv2d_weight(g, y), ∂/∂b = Σ g."""

    name = "conv_transpose2d"
    stride: tuple[int, int]
    top_left: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    size: tuple[int, int]

    def forward(self, y: Array, w: Array, b: Array | None = None) -> Array:
        n, cin, h, wd = y.shape
        ci, cog, kh, kw = w.shape
        g = self.groups
        if cin != ci or cin % g:
            raise RuntimeError(f"conv_transpose2d: input of shape {tuple(y.shape)} and weight "
                               f"of shape {tuple(w.shape)} do not match with groups={g}")
        if g == 1:  # rows ordered (kh, kw, C_out): each offset's block is contiguous for col2im
            wm = xp.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(kh * kw * cog, cin)
            cols = (wm @ _cnhw(y, 1)[0]).reshape(kh, kw, cog, n, h, wd).transpose(2, 3, 0, 1, 4, 5)
        else:
            wm = w.reshape(g, cin // g, cog * kh * kw).transpose(0, 2, 1)
            cols = _gemm(wm, _cnhw(y, g)).reshape(g * cog, kh, kw, n, h, wd)
            cols = cols.transpose(0, 3, 1, 2, 4, 5)
        out = _col2im(cols, self.stride, self.dilation, self.top_left, self.size)
        if b is not None:
            out += b.reshape(-1, 1, 1, 1)
        return out.transpose(1, 0, 2, 3)

    def _conv_geom(self) -> dict[str, Any]:
        """Conv2d params under which g (the output's shape) maps back to y's shape."""
        y, w = self.inputs[0], self.inputs[1]
        pads = []
        for a in range(2):
            k, s, d = w.shape[2 + a], self.stride[a], self.dilation[a]
            full = (y.shape[2 + a] - 1) * s + d * (k - 1) + 1
            pads.append((self.top_left[a], full - self.top_left[a] - self.size[a]))
        return {"stride": self.stride, "pads": tuple(pads), "dilation": self.dilation,
                "groups": self.groups}

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        y, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        geom = self._conv_geom()
        gy = Conv2d.apply(g, w, **geom) if need[0] else None
        gw = Conv2dWeight.apply(g, y, kernel=tuple(w.shape[2:]), **geom) if need[1] else None
        if len(self.inputs) == 2:
            return gy, gw
        return gy, gw, (g.sum((0, 2, 3)) if need[2] else None)

    def jvp(self, ty: Tensor | None, tw: Tensor | None, tb: Tensor | None = None) -> Tensor | None:
        y, w = self.inputs[0], self.inputs[1]
        out = ConvTranspose2d.apply(ty, w, **self.params) if ty is not None else None
        if tw is not None:
            term = ConvTranspose2d.apply(y, tw, **self.params)
            out = term if out is None else out + term
        if tb is not None:
            term = tb.reshape(1, -1, 1, 1)
            out = term if out is None else out + term
        return out


@register
class Conv2dWeight(_ConvBase):
    """The adjoint of conv2d in its weight: gw[o,c,i,j] = Σ_n,p,q g[n,o,p,q]·x[window].
    ∂/∂x = conv_transpose2d(g, gg), ∂/∂g = conv2d(x, gg)."""

    name = "conv2d_weight"
    kernel: tuple[int, int]
    cols: Array | None = None

    def forward(self, x: Array, g: Array) -> Array:
        kh, kw = self.kernel
        gr = self.groups
        cols = self.cols
        if cols is None:
            cols = _im2col(x, self.kernel, self.stride, self.dilation, self.pads, g.shape[2:])
        gm = _cnhw(g, gr)
        out = _gemm(gm, cols.reshape(gr, -1, cols.shape[1]).transpose(0, 2, 1))
        return out.reshape(g.shape[1], x.shape[1] // gr, kh, kw)

    def backward(self, gg: Tensor) -> tuple[Tensor | None, ...]:
        x, g = self.inputs
        need = self.needs_input_grad
        geom = self._geom()
        gx = ConvTranspose2d.apply(g, gg, **_transpose_geom(geom, x.shape, gg.shape)) \
            if need[0] else None
        return gx, (Conv2d.apply(x, gg, **geom) if need[1] else None)

    def jvp(self, tx: Tensor | None, tg: Tensor | None) -> Tensor | None:
        x, g = self.inputs
        geom = self._geom()
        out = Conv2dWeight.apply(tx, g, kernel=self.kernel, **geom) if tx is not None else None
        if tg is not None:
            term = Conv2dWeight.apply(x, tg, kernel=self.kernel, cols=self.cols, **geom)
            out = term if out is None else out + term
        return out


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
    x, unbatched = _batched(input, 2, "conv2d", "(N, C, H, W)")
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (C_out, C_in/groups, kH, kW), got "
                           f"shape {tuple(weight.shape)}")
    s = _tuple(stride, 2, "stride", "conv2d")
    d = _tuple(dilation, 2, "dilation", "conv2d")
    _check_common(s, d, groups, "conv2d")
    pads = _conv_pads(padding, tuple(weight.shape[2:]), d, s, "conv2d")
    args = (x, weight) if bias is None else (x, weight, bias)
    out = Conv2d.apply(*args, stride=s, pads=pads, dilation=d, groups=int(groups))
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation (``torch.nn.functional.conv1d``): input (N, C_in, L) or
    (C_in, L), weight (C_out, C_in / groups, k); computed as a conv2d of height 1."""
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


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """2-D transposed convolution (``torch.nn.functional.conv_transpose2d``), the gradient of
    conv2d with respect to its input.

    Args:
        input: (N, C_in, H, W) or (C_in, H, W).
        weight: (C_in, C_out / groups, kH, kW).
        output_padding: extra rows/cols added to one side of the output (< stride or dilation).

    Returns:
        (N, C_out, H_out, W_out), H_out = (H − 1)·s − 2p + d·(kH − 1) + output_padding + 1.
    """
    x, unbatched = _batched(input, 2, "conv_transpose2d", "(N, C, H, W)")
    if weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected a 4-D weight (C_in, C_out/groups, kH, "
                           f"kW), got shape {tuple(weight.shape)}")
    s = _tuple(stride, 2, "stride", "conv_transpose2d")
    d = _tuple(dilation, 2, "dilation", "conv_transpose2d")
    p = _tuple(padding, 2, "padding", "conv_transpose2d")
    op = _tuple(output_padding, 2, "output_padding", "conv_transpose2d")
    _check_common(s, d, groups, "conv_transpose2d")
    if any(o >= max(si, di) or o < 0 for o, si, di in zip(op, s, d)):
        raise ValueError(f"conv_transpose2d: output_padding {op} must be >= 0 and smaller "
                         f"than either stride {s} or dilation {d}")
    size = tuple((n - 1) * si - 2 * pi + di * (k - 1) + oi + 1
                 for n, si, pi, di, k, oi in zip(x.shape[2:], s, p, d, weight.shape[2:], op))
    if min(size) < 1:
        raise RuntimeError(f"conv_transpose2d: output size {size} is too small (input "
                           f"{tuple(x.shape)}, weight {tuple(weight.shape)}, padding {p})")
    args = (x, weight) if bias is None else (x, weight, bias)
    out = ConvTranspose2d.apply(*args, stride=s, top_left=p, dilation=d, groups=int(groups),
                                size=size)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """1-D transposed convolution (``torch.nn.functional.conv_transpose1d``): input (N, C_in, L)
    or (C_in, L), weight (C_in, C_out / groups, k); L_out = (L − 1)·s − 2p + d·(k − 1) +
    output_padding + 1. Computed as a conv_transpose2d of height 1."""
    x, unbatched = _batched(input, 1, "conv_transpose1d", "(N, C, L)")
    if weight.ndim != 3:
        raise RuntimeError(f"conv_transpose1d: expected a 3-D weight (C_in, C_out/groups, k), "
                           f"got shape {tuple(weight.shape)}")
    (s,), (p,), (d,) = (_tuple(v, 1, name, "conv_transpose1d") for v, name in
                        ((stride, "stride"), (padding, "padding"), (dilation, "dilation")))
    (o,) = _tuple(output_padding, 1, "output_padding", "conv_transpose1d")
    if not 0 <= o < max(s, d):
        raise ValueError(f"conv_transpose1d: output_padding ({o},) must be >= 0 and smaller "
                         f"than either stride ({s},) or dilation ({d},)")
    out = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), (0, p), (0, o),
                           groups, (1, d)).squeeze(2)
    return out.squeeze(0) if unbatched else out
