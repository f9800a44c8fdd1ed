"""Transposed convolutions: conv_transpose1d/2d/3d, the gradients of conv1d/2d/3d with respect
to their input (``torch.nn.functional.conv_transpose*d``), over the ``ConvTranspose2d``/``3d``
primitives of ``ops/conv.py``: argument checks and the output size live here."""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op
from chainrule.ops.conv import _LAYOUTS, ConvTranspose2d, ConvTranspose3d, _batched, _check_common
from chainrule.ops.windows import _tuple
from chainrule.tensor import Tensor


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

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.conv_transpose2d(cr.ones(1, 4, 5, 5), cr.ones(4, 2, 3, 3), stride=2).shape
        chainrule.Size([1, 2, 11, 11])
    """
    return _conv_transpose(ConvTranspose2d, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def _conv_transpose(op: type[Op], input: Tensor, weight: Tensor, bias: Tensor | None,
                    stride: Any, padding: Any, output_padding: Any, groups: int,
                    dilation: Any) -> Tensor:
    """conv_transpose2d/3d: argument checks and the output size, then the primitive ``op``."""
    nd, name = (2, "conv_transpose2d") if op is ConvTranspose2d else (3, "conv_transpose3d")
    layout, kernel = _LAYOUTS[nd]
    x, unbatched = _batched(input, nd, name, layout)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: expected a {nd + 2}-D weight (C_in, C_out/groups, "
                           f"{kernel}), got shape {tuple(weight.shape)}")
    s = _tuple(stride, nd, "stride", name)
    d = _tuple(dilation, nd, "dilation", name)
    p = _tuple(padding, nd, "padding", name)
    op_ = _tuple(output_padding, nd, "output_padding", name)
    _check_common(s, d, groups, name)
    if any(o >= max(si, di) or o < 0 for o, si, di in zip(op_, s, d)):
        raise ValueError(f"{name}: output_padding {op_} must be >= 0 and smaller "
                         f"than either stride {s} or dilation {d}")
    size = tuple((n - 1) * si - 2 * pi + di * (k - 1) + oi + 1
                 for n, si, pi, di, k, oi in zip(x.shape[2:], s, p, d, weight.shape[2:], op_))
    if min(size) < 1:
        raise RuntimeError(f"{name}: output size {size} is too small (input "
                           f"{tuple(x.shape)}, weight {tuple(weight.shape)}, padding {p})")
    args = (x, weight) if bias is None else (x, weight, bias)
    out = op.apply(*args, stride=s, top_left=p, dilation=d, groups=int(groups), size=size)
    return out.squeeze(0) if unbatched else out


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """3-D transposed convolution (``torch.nn.functional.conv_transpose3d``), the gradient of
    conv3d with respect to its input: input (N, C_in, D, H, W) or unbatched, weight
    (C_in, C_out / groups, kD, kH, kW); each output size is
    (n − 1)·s − 2p + d·(k − 1) + output_padding + 1.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.conv_transpose3d(cr.ones(1, 2, 3, 3, 3), cr.ones(2, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """
    return _conv_transpose(ConvTranspose3d, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Tensor:
    """1-D transposed convolution (``torch.nn.functional.conv_transpose1d``): input (N, C_in, L)
    or (C_in, L), weight (C_in, C_out / groups, k); L_out = (L − 1)·s − 2p + d·(k − 1) +
    output_padding + 1. Computed as a conv_transpose2d of height 1.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.conv_transpose1d(cr.ones(1, 1, 3), cr.ones(1, 1, 2))
        tensor([[[1., 2., 2., 1.]]])
    """
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
