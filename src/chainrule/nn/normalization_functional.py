"""Normalisation functions, the functional forms of ``nn.normalization``'s layers
(re-exported by ``chainrule.nn.functional``): layer, RMS and batch norm.

All are composites of primitives (mean, rsqrt, reshape, arithmetic), so their gradients come
from autograd; running statistics are buffers updated in place, outside the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    (biased variance)."""
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
    machine epsilon, as in PyTorch."""
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
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    axes = (0, *range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(input.shape)}")
        mean = input.mean(axes, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(axes, keepdim=True)
        if running_mean is not None and running_var is not None:
            m = 0.1 if momentum is None else momentum
            _ema(running_mean, mean.data.reshape(c), m)
            _ema(running_var, var.data.reshape(c) * (count / (count - 1)), m)
        out = centered * (var + eps).rsqrt()
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        scale = 1.0 / xp.sqrt(running_var.data + eps)
        out = (input - running_mean.reshape(shape)) * Tensor._wrap(
            scale.astype(input.dtype).reshape(shape))
    if weight is not None:
        out = out * weight.reshape(shape)
    return out if bias is None else out + bias.reshape(shape)


def _ema(buffer: Tensor, value: Any, momentum: float) -> None:
    buffer.data *= 1 - momentum
    buffer.data += momentum * value.astype(buffer.dtype, copy=False)
    buffer._version += 1

