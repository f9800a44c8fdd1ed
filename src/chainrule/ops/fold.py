"""Sliding blocks: ``unfold`` (im2col) and ``fold`` (col2im), each the other's adjoint, so each
one's gradient is the other (``torch.nn.functional.unfold``/``fold`` semantics)."""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.windows import Pads, _col2im, _out_size, _pad, _tuple, _windows
from chainrule.tensor import Tensor


@register
class Unfold(Op):
    """im2col: x (N, C, H, W) → (N, C·kh·kw, L), L = Ho·Wo.  ∂/∂x = fold(g)."""

    name = "unfold"
    saves_inputs = False
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads

    def forward(self, x: Array) -> Array:
        (t, b), (lf, r) = self.pads
        h, w = x.shape[2] + t + b, x.shape[3] + lf + r
        eff = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))
        if eff[0] > h or eff[1] > w:
            raise RuntimeError(f"unfold: kernel {eff} is larger than the padded input ({h}, {w})")
        out = tuple(_out_size(n, k, s, d, 0, 0) for n, k, s, d in
                    zip((h, w), self.kernel, self.stride, self.dilation))
        win = _windows(_pad(x, self.pads), self.kernel, self.stride, self.dilation, out,
                       channel_major=False)
        return xp.ascontiguousarray(win).reshape(x.shape[0], -1, out[0] * out[1])

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (Fold.apply(g, size=tuple(self.inputs[0].shape[2:]), **self.params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Unfold.apply(t, **self.params)


@register
class Fold(Op):
    """col2im: cols (N, C·kh·kw, L) → (N, C, *size), overlapping windows summed.
    ∂/∂cols = unfold(g)."""

    name = "fold"
    saves_inputs = False
    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: Pads

    def forward(self, cols: Array) -> Array:
        (t, b), (lf, r) = self.pads
        kh, kw = self.kernel
        blocks = [_out_size(n, k, s, d, p0, p1) for n, k, s, d, (p0, p1) in
                  zip(self.size, self.kernel, self.stride, self.dilation, self.pads)]
        n, ckk, length = cols.shape
        if ckk % (kh * kw) or length != blocks[0] * blocks[1]:
            raise RuntimeError(f"fold: input of shape {tuple(cols.shape)} does not match kernel "
                               f"{self.kernel} and {blocks[0]}×{blocks[1]} blocks for output "
                               f"size {self.size}")
        c6 = cols.reshape(n, ckk // (kh * kw), kh, kw, *blocks)
        return _col2im(c6, self.stride, self.dilation, (t, lf), self.size)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        params = {k: v for k, v in self.params.items() if k != "size"}
        return (Unfold.apply(g, **params),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Fold.apply(t, **self.params)


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """Sliding local blocks, im2col (``torch.nn.functional.unfold``): (N, C, H, W) →
    (N, C·kH·kW, L), L the number of blocks; channel-major then kernel row, kernel column.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.unfold(cr.ones(1, 3, 4, 4), kernel_size=2).shape
        chainrule.Size([1, 12, 9])
    """
    if input.ndim != 4:
        raise RuntimeError(f"unfold: expected a 4-D input (N, C, H, W), got shape "
                           f"{tuple(input.shape)}")
    p = _tuple(padding, 2, "padding", "unfold")
    return Unfold.apply(input, kernel=_tuple(kernel_size, 2, "kernel_size", "unfold"),
                        stride=_tuple(stride, 2, "stride", "unfold"),
                        dilation=_tuple(dilation, 2, "dilation", "unfold"),
                        pads=((p[0], p[0]), (p[1], p[1])))


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """Sum sliding local blocks back into an image, col2im (``torch.nn.functional.fold``):
    (N, C·kH·kW, L) → (N, C, *output_size); the adjoint of ``unfold``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> patches = F.unfold(cr.arange(16.0).reshape(1, 1, 4, 4), kernel_size=2, stride=2)
        >>> F.fold(patches, output_size=(4, 4), kernel_size=2, stride=2).flatten()[:6]
        tensor([0., 1., 2., 3., 4., 5.])
    """
    if input.ndim != 3:
        raise RuntimeError(f"fold: expected a 3-D input (N, C·kH·kW, L), got shape "
                           f"{tuple(input.shape)}")
    p = _tuple(padding, 2, "padding", "fold")
    return Fold.apply(input, size=_tuple(output_size, 2, "output_size", "fold"),
                      kernel=_tuple(kernel_size, 2, "kernel_size", "fold"),
                      stride=_tuple(stride, 2, "stride", "fold"),
                      dilation=_tuple(dilation, 2, "dilation", "fold"),
                      pads=((p[0], p[0]), (p[1], p[1])))
