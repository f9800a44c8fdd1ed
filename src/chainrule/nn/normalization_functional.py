"""Normalisation functions, the functional forms of ``nn.normalization``'s layers
(re-exported by ``chainrule.nn.functional``): layer, RMS, batch, group and instance norm.

All are composites of primitives (mean, rsqrt, reshape, arithmetic), so their gradients come
from autograd; running statistics are buffers updated in place, outside the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import xp
from chainrule.tensor import Tensor


def _norm_axes(input: Tensor, normalized_shape: Sequence[int] | int, name: str) -> tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape or len(shape) > input.ndim:
        raise RuntimeError(f"{name}: input of shape {tuple(input.shape)} does not end with "
                           f"normalized_shape {shape}")
    return tuple(range(input.ndim - len(shape), input.ndim))


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int,
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x − mean) / √(var + eps) · weight + bias over the trailing ``normalized_shape`` dims
    (biased variance).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.layer_norm(cr.tensor([[1.0, 3.0]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    axes = _norm_axes(input, normalized_shape, "layer_norm")
    centered = input - input.mean(axes, keepdim=True)
    var = (centered * centered).mean(axes, keepdim=True)
    out = centered * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def rms_norm(input: Tensor, normalized_shape: Sequence[int] | int,
             weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x / √(mean(x²) + eps) · weight over the trailing dims; eps defaults to the dtype's
    machine epsilon, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.rms_norm(cr.tensor([[3.0, 4.0]]), (2,))
        tensor([[0.8485, 1.1314]])
    """
    axes = _norm_axes(input, normalized_shape, "rms_norm")
    if eps is None:
        eps = float(xp.finfo(input.dtype).eps)
    out = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of input (N, C, ...) over the batch and the other dims.

    In training the batch statistics are used (biased variance) and the running buffers, if
    given, are updated in place: r ← (1 − momentum)·r + momentum·stat, with the unbiased
    variance. Otherwise the running statistics are used.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> x = cr.tensor([[1.0], [3.0]])
        >>> F.batch_norm(x, None, None, training=True)
        tensor([[-1.0000],
                [ 1.0000]])
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    axes = (0, *range(2, input.ndim))
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input size {tuple(input.shape)}")
        mean = input.mean(axes, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(axes, keepdim=True)
        if running_mean is not None and running_var is not None:
            m = 0.1 if momentum is None else momentum
            _ema(running_mean, mean.reshape(c), m)
            _ema(running_var, var.reshape(c) * (count / (count - 1)), m)
        out = centered * (var + eps).rsqrt()
    else:
        out = _with_running_stats(input, running_mean, running_var, eps, "batch_norm")
    return _affine(out, weight, bias)


def _with_running_stats(input: Tensor, running_mean: Tensor | None,
                        running_var: Tensor | None, eps: float, name: str) -> Tensor:
    """(x − running_mean) / √(running_var + eps) per channel (dim 1); the statistics are
    constants."""
    if running_mean is None or running_var is None:
        raise ValueError(f"{name}: running_mean and running_var are needed when not training")
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    scale = (running_var.to(input.dtype) + eps).rsqrt()
    return (input - running_mean.reshape(shape)) * scale.reshape(shape)


def _affine(out: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """out · weight + bias with per-channel (dim 1) weight and bias."""
    shape = (1, out.shape[1]) + (1,) * (out.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _ema(buffer: Tensor, value: Tensor, momentum: float) -> None:
    """buffer ← (1 − momentum)·buffer + momentum·value, in place and outside the graph."""
    with no_grad():
        buffer.mul_(1 - momentum).add_(value.to(buffer.dtype) * momentum)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the channels (dim 1) of input (N, C, ...) into ``num_groups`` groups of C/G and
    normalise each sample's group over its channels and the other dims (biased variance); then
    per-channel ``weight`` (C,) and ``bias`` (C,).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> x = cr.arange(24.0).reshape(2, 4, 3)
        >>> y = F.group_norm(x, num_groups=2)
        >>> y.shape, abs(round(y[0, :2].mean().item(), 4)), round(y[0,
        ...     :2].std(correction=0).item(), 2)
        (chainrule.Size([2, 4, 3]), 0.0, 1.0)
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected at least 2 dimensions for input tensor but "
                           f"received {input.ndim}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: expected number of channels in input to be divisible "
                           f"by num_groups, but got input of shape {tuple(input.shape)} and "
                           f"num_groups={num_groups}")
    if input.numel() == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input size {tuple(input.shape)}")
    grouped = input.reshape(n, num_groups, -1)
    centered = grouped - grouped.mean(2, keepdim=True)
    var = (centered * centered).mean(2, keepdim=True)
    out = (centered * (var + eps).rsqrt()).reshape(input.shape)
    return _affine(out, weight, bias)


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float | None = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample of input (N, C, ...) over its remaining dims
    (biased variance); then per-channel ``weight`` (C,) and ``bias`` (C,).

    With ``use_input_stats`` the running buffers, if given, are updated in place with the
    per-sample statistics averaged over the batch: r ← (1 − momentum)·r + momentum·stat
    (unbiased variance), as in PyTorch. Otherwise the running statistics are used.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> y = F.instance_norm(cr.arange(30.0).reshape(2, 3, 5))
        >>> y[0, 0]
        tensor([-1.4142, -0.7071,  0.0000,  0.7071,  1.4142])
    """
    if input.ndim < 2:
        raise ValueError(f"instance_norm: expected input of shape (N, C, ...), got "
                         f"{tuple(input.shape)}")
    if not use_input_stats:
        return _affine(_with_running_stats(input, running_mean, running_var, eps,
                                           "instance_norm"), weight, bias)
    n, c = input.shape[:2]
    count = input.numel() // max(n * c, 1)
    if count <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{tuple(input.shape)}")
    axes = tuple(range(2, input.ndim))
    mean = input.mean(axes, keepdim=True)
    centered = input - mean
    var = (centered * centered).mean(axes, keepdim=True)
    if running_mean is not None and running_var is not None:
        m = 0.1 if momentum is None else momentum
        _ema(running_mean, mean.reshape(n, c).mean(0), m)
        _ema(running_var, var.reshape(n, c).mean(0) * (count / (count - 1)), m)
    return _affine(centered * (var + eps).rsqrt(), weight, bias)
