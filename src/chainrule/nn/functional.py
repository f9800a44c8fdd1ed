"""Stateless layer functions (``torch.nn.functional``; import as ``F``): activations, linear,
dropout, embedding, normalisation, attention, resizing and the losses.

Activations are the ops themselves (re-exported) or composites of them; the rest are composed
from primitives. Every loss takes ``reduction``: ``'none'`` (per-element losses), ``'mean'``
(default) or ``'sum'``; ``kl_div`` also takes ``'batchmean'``. Class-weighted ``'mean'`` divides
by the total weight of the counted targets, exactly as PyTorch does.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from chainrule import random as _random
from chainrule.amp.autocast_mode import float32_op
from chainrule.autograd.grad_mode import no_grad
from chainrule.backend import Array, is_floating, xp
from chainrule.ops import activation as _A
from chainrule.ops.activation import floating_input, numeric_input, sigmoid, softplus
from chainrule.ops.adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from chainrule.ops.attention import scaled_dot_product_attention as fused_attention
from chainrule.ops.elementwise import clamp, minimum, where
from chainrule.ops.fused import softmax
from chainrule.ops.linalg import einsum
from chainrule.ops.loss import BinaryCrossEntropy, cross_entropy_logits
from chainrule.ops.movement import OneHot, cat
from chainrule.ops.normalization import layer_norm as fused_layer_norm
from chainrule.ops.table import FUNCTIONAL as _FUNCTIONAL
from chainrule.ops.unary import tanh
from chainrule.random import Generator
from chainrule.tensor import Tensor

globals().update(_FUNCTIONAL)  # the ops F re-exports (conv2d, softmax, pad, ...): ops/table.py


# ---- activations: the ops, with PyTorch's ``inplace`` flag -------------------------------------
def _inplace_flag(fn: Any) -> Any:
    """PyTorch's ``inplace=True`` (by keyword or position): the result is written into the input,
    which is returned with its graph history updated (gradients are the out-of-place ones)."""
    at = list(inspect.signature(fn).parameters).index("inplace")

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("inplace", len(args) > at and args[at]):
            return fn(*args, **kwargs)
        rest = list(args[1:])
        if len(args) > at:
            rest[at - 1] = False
        else:
            kwargs["inplace"] = False
        return args[0]._inplace(lambda s: fn(s, *rest, **kwargs))

    return run


@_inplace_flag
@numeric_input
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.relu(cr.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    return _A.relu(input)


@_inplace_flag
@floating_input
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.leaky_relu(cr.tensor([-1.0, 2.0]), 0.1)
        tensor([-0.1000,  2.0000])
    """
    return _A.leaky_relu(input, negative_slope)


@_inplace_flag
@floating_input
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(eˣ − 1).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.elu(cr.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    return _A.elu(input, alpha)


@_inplace_flag
@floating_input
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.silu(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2689,  0.0000,  0.7311])
    """
    return _A.silu(input)


@_inplace_flag
@numeric_input
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.relu6(cr.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """
    return clamp(input, *_bounds(input, 0.0, 6.0))


@_inplace_flag
@numeric_input
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val].

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hardtanh(cr.tensor([-2.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    return clamp(input, *_bounds(input, min_val, max_val))


def _bounds(input: Tensor, lo: float, hi: float) -> tuple[float, float]:
    """Clamp bounds that keep an integer tensor integer (PyTorch's relu6/hardtanh on int64)."""
    return (int(lo), int(hi)) if input.dtype.kind in "iu" else (lo, hi)


@floating_input
def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for large |x|.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.logsigmoid(cr.tensor([0.0, -100.0]))
        tensor([  -0.6931, -100.0000])
    """
    return -softplus(-input, threshold=float("inf"))


@_inplace_flag
@floating_input
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x)).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.mish(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.3034,  0.0000,  0.8651])
    """
    return input * tanh(softplus(input))


@numeric_input
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.softsign(cr.tensor([-1.0, 0.0, 3.0]))
        tensor([-0.5000,  0.0000,  0.7500])
    """
    return input / (1 + input.abs())


@numeric_input
def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.tanhshrink(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """
    return input - tanh(input)


# SELU's constants (Klambauer et al., 2017), as in PyTorch
_SELU_ALPHA = 1.6732632423543772848170429916717


_SELU_SCALE = 1.0507009873554804934193349852946


@_inplace_flag
@floating_input
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·(x if x > 0 else alpha·(eˣ − 1)), alpha ≈ 1.6733, scale ≈ 1.0507.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.selu(cr.tensor([-1.0, 1.0]))
        tensor([-1.1113,  1.0507])
    """
    return _A.elu(input, _SELU_ALPHA) * _SELU_SCALE


@_inplace_flag
@floating_input
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(e^(x/alpha) − 1), i.e. alpha·elu(x/alpha).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.celu(cr.tensor([-1.0, 2.0]))
        tensor([-0.6321,  2.0000])
    """
    if alpha == 0:
        raise ValueError(f"celu: alpha cannot be 0, got {alpha}")
    return _A.elu(input / alpha, 1.0) * alpha


@_inplace_flag
@floating_input
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x/6 + 1/2, 0), 1): 0 below −3, 1 above 3, linear between.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hardsigmoid(cr.tensor([-4.0, 0.0, 4.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    return clamp(input + 3.0, 0.0, 6.0) / 6.0


@_inplace_flag
@floating_input
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·hardsigmoid(x): 0 below −3, x above 3, x·(x + 3)/6 between.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hardswish(cr.tensor([-4.0, 0.0, 4.0]))
        tensor([-0.,  0.,  4.])
    """
    return input * hardsigmoid(input)


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """e^(−x_i) / Σ_j e^(−x_j) along ``dim``: softmax of −x.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.softmin(cr.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([0.6652, 0.2447, 0.0900])
    """
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


@_inplace_flag
@numeric_input
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.threshold(cr.tensor([0.5, 1.0, 2.0]), 1.0, -1.0)
        tensor([-1., -1.,  2.])
    """
    return where(input > threshold, input, value)


_threshold = threshold  # (threshold_'s argument of that name hides the function)


def relu_(input: Tensor) -> Tensor:
    """``relu(input, inplace=True)``: input's values replaced by max(x, 0); input returned.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> x = cr.tensor([-1.0, 2.0])
        >>> F.relu_(x) is x, x
        (True, tensor([0., 2.]))
    """
    return relu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """``leaky_relu(input, negative_slope, inplace=True)``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.leaky_relu_(cr.tensor([-1.0, 2.0]), 0.1)
        tensor([-0.1000,  2.0000])
    """
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """``elu(input, alpha, inplace=True)``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.elu_(cr.tensor([0.0, 2.0]))
        tensor([0., 2.])
    """
    return elu(input, alpha, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """``hardtanh(input, min_val, max_val, inplace=True)``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hardtanh_(cr.tensor([-2.0, 0.5]))
        tensor([-1.0000,  0.5000])
    """
    return hardtanh(input, min_val, max_val, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """``threshold(input, threshold, value, inplace=True)``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.threshold_(cr.tensor([0.5, 2.0]), 1.0, -1.0)
        tensor([-1.,  2.])
    """
    return _threshold(input, threshold, value, inplace=True)


@floating_input
def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x − lambd if x > lambd, x + lambd if x < −lambd, else 0 (x − clamp(x, −lambd, lambd)).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.softshrink(cr.tensor([-1.0, 0.3, 0.6]))
        tensor([-0.5000,  0.0000,  0.1000])
    """
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return input - clamp(input, -lambd, lambd)


@floating_input
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x if |x| > lambd else 0.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hardshrink(cr.tensor([-1.0, 0.3, 0.6]))
        tensor([-1.0000,  0.0000,  0.6000])
    """
    return where(input.abs() > lambd, input, 0.0)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight·x, with one weight (numel 1) shared by all channels or one per
    channel (dim 1 of the input; ``weight`` of shape (C,)).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.prelu(cr.tensor([-2.0, 3.0]), cr.tensor([0.25]))
        tensor([-0.5000,  3.0000])
    """
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected weight to be a scalar or 1-D tensor, got shape "
                           f"{tuple(weight.shape)}")
    n = weight.numel()
    if n == 1:
        weight = weight.reshape(())
    else:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"prelu: weight has {n} parameters but the input of shape "
                               f"{tuple(input.shape)} has {channels} channels (dim 1)")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


# ---- layers -----------------------------------------------------------------------------------
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y_k = x1ᵀ W_k x2 + b_k for x1 (..., in1), x2 (..., in2), W (out, in1, in2), b (out,).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.bilinear(cr.ones(4, 2), cr.ones(4, 3), cr.ones(5, 2, 3)).shape
        chainrule.Size([4, 5])
    """
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear: inputs of shapes {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} do not match weight {tuple(weight.shape)}")
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


@_inplace_flag
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    1/(1 − p), so the expectation is unchanged; the identity when not ``training``.

    The mask comes from the global generator (``chainrule.manual_seed``) unless ``generator``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> x = cr.ones(1000)
        >>> y = F.dropout(x, p=0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
        >>> F.dropout(cr.ones(3), p=0.5, training=False)
        tensor([1., 1., 1.])
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * Tensor._wrap(_random.dropout_mask(input.shape, p, input.dtype, generator))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) at the integer ``input`` (any shape); the output
    has shape input.shape + (dim,). The row at ``padding_idx`` receives no gradient.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> weight = cr.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> F.embedding(cr.tensor([2, 0]), weight)
        tensor([[2., 2.],
                [0., 0.]])
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    if not isinstance(input, Tensor):
        input = Tensor._wrap(xp.asarray(input))
    idx = input.array
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = sorted(set(idx[(idx < 0) | (idx >= n)].tolist()))[:5]
        raise IndexError(f"embedding: indices {bad} are out of range for {n} embeddings "
                         f"(valid: 0..{n - 1})")
    out = weight[idx]
    if padding_idx is not None and out.requires_grad:
        pad_row = padding_idx % n
        live = (input != pad_row).unsqueeze(-1)
        out = where(live, out, out.detach())  # same values; no gradient into the padding row
    return out


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.normalize(cr.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim`` … ``end_dim`` of ``input`` into one.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.flatten(cr.zeros(2, 3, 4), 1).shape
        chainrule.Size([2, 12])
    """
    return input.flatten(start_dim, end_dim)


@floating_input
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a·σ(b) where a, b are the halves of ``input`` along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.glu(cr.tensor([1.0, 2.0, 0.0, 100.0]))
        tensor([0.5000, 2.0000])
    """
    if input.shape[dim] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.cosine_similarity(cr.tensor([[1.0, 0.0], [1.0, 1.0]]), cr.tensor([[0.0, 1.0],
        ...     [2.0, 2.0]]))
        tensor([0.0000, 1.0000])
    """
    n1 = x1.norm(2, dim).clamp(min=eps)
    n2 = x2.norm(2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


# ---- normalisation ------------------------------------------------------------------------------


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
    ndim = len(_norm_axes(input, normalized_shape, "layer_norm"))
    return fused_layer_norm(input, ndim, weight, bias, eps)


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


# ---- attention ----------------------------------------------------------------------------------


def _additive(mask: Any, dtype: Any, blocked_when: bool, name: str) -> Tensor:
    """A bool or float mask as an additive float mask (−inf where blocked)."""
    if not isinstance(mask, Tensor):
        mask = Tensor._wrap(xp.asarray(mask))
    kind = mask.dtype.kind
    if kind == "b":
        blocked = mask if blocked_when else mask.logical_not()
        return where(blocked, -xp.inf, 0.0).to(dtype)
    if kind != "f":
        raise TypeError(f"only bool and floating types of {name} are supported, got "
                        f"{mask.dtype}")
    return mask if mask.dtype == dtype else mask.to(dtype)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(q kᵀ · scale + mask) v over the last two dims, batch dims broadcasting.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev).
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to
            (..., L, S).
        dropout_p: dropout on the attention weights (always applied when > 0, as in PyTorch).
        is_causal: mask out keys after each query (upper triangle); excludes ``attn_mask``.
        scale: defaults to 1/√E.

    Returns:
        (..., L, Ev).

    Example:
        >>> import chainrule as cr
        >>> q = cr.randn(2, 4, 8)
        >>> scaled_dot_product_attention(q, q, q, is_causal=True).shape
        chainrule.Size([2, 4, 8])
    """
    L, S = query.shape[-2], key.shape[-2]
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: attn_mask and is_causal cannot both "
                         "be set")
    e = query.shape[-1]
    s = (1.0 / math.sqrt(e) if e else 1.0) if scale is None else scale  # E = 0: scores are 0
    mask = None if attn_mask is None else _additive(attn_mask, query.dtype, False, "attn_mask")
    if dropout_p == 0.0:
        return fused_attention(query, key, value, mask, s, is_causal)
    scores = (query * s) @ key.mT
    if is_causal:
        mask = Tensor._wrap(xp.where(xp.tri(L, S, dtype=bool), 0.0, -xp.inf)
                            .astype(scores.dtype))
    if mask is not None:
        scores = scores + mask
    return dropout(softmax(scores, -1), dropout_p, True) @ value


# ---- channel dropout, bags of embeddings --------------------------------------------------------


@_inplace_flag
def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero each channel of (N, C, H, W) (or unbatched (C, H, W)) with probability ``p`` and
    scale the kept ones by 1/(1 − p); the identity when not ``training``
    (``torch.nn.functional.dropout2d``). The mask comes from the global generator.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> y = F.dropout2d(cr.ones(1, 8, 2, 2), p=0.5)
        >>> sorted(set(y.sum((2, 3)).flatten().tolist())) in ([0.0, 8.0], [0.0], [8.0])
        True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    if input.ndim in (3, 4):
        mask_shape = input.shape[:-2] + (1, 1)  # one draw per (sample, channel)
    else:  # PyTorch's feature dropout: one draw per entry of the first two dims
        mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return input * Tensor._wrap(_random.dropout_mask(mask_shape, p, input.dtype, generator))


def _feature_dropout(name: str, spatial: int, input: Tensor, p: float, training: bool,
                     generator: Generator | None) -> Tensor:
    """Zero whole channels of (N, C, *spatial) or unbatched (C, *spatial) inputs."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but "
                           f"received a {input.ndim}D input of shape {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    mask_shape = input.shape[:input.ndim - spatial] + (1,) * spatial
    return input * Tensor._wrap(_random.dropout_mask(mask_shape, p, input.dtype, generator))


@_inplace_flag
def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero each channel of (N, C, L) (or unbatched (C, L)) with probability ``p`` and scale
    the kept ones by 1/(1 − p); the identity when not ``training``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.dropout1d(cr.ones(2, 3, 4), training=False).shape
        chainrule.Size([2, 3, 4])
    """
    return _feature_dropout("dropout1d", 1, input, p, training, generator)


@_inplace_flag
def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero each channel of (N, C, D, H, W) (or unbatched (C, D, H, W)) with probability ``p``
    and scale the kept ones by 1/(1 − p); the identity when not ``training``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.dropout3d(cr.ones(1, 2, 2, 2, 2), training=False).shape
        chainrule.Size([1, 2, 2, 2, 2])
    """
    return _feature_dropout("dropout3d", 3, input, p, training, generator)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample from the Gumbel-softmax distribution over ``dim``: softmax((logits + g)/tau)
    with g Gumbel noise from the global generator; with ``hard``, the one-hot of its argmax
    in the forward pass and the soft sample's gradient in the backward (straight-through).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> y = F.gumbel_softmax(cr.zeros(2, 3), hard=True)
        >>> y.sum(-1).tolist()
        [1.0, 1.0]
    """
    gumbels = -Tensor._wrap(_random.numpy_generator(None).exponential(
        1.0, tuple(logits.shape)).astype(logits.dtype)).log()
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = Tensor._wrap(xp.zeros(tuple(logits.shape), logits.dtype)).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r) with r = ``upscale_factor``: each group of r²
    channels becomes an r × r block of pixels (sub-pixel convolution).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.pixel_shuffle(cr.arange(4.0).reshape(1, 4, 1, 1), 2)
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """
    r = upscale_factor
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle: expected the channel dim of input of shape "
                           f"{tuple(input.shape)} to be divisible by upscale_factor² = {r * r}")
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W): the inverse of ``pixel_shuffle``.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.pixel_unshuffle(cr.arange(4.0).reshape(1, 1, 2, 2), 2).flatten()
        tensor([0., 1., 2., 3.])
    """
    r = downscale_factor
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle: expected the height and width of input of shape "
                           f"{tuple(input.shape)} to be divisible by downscale_factor = {r}")
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _bags(input: Tensor, offsets: Tensor | None, include_last_offset: bool,
          per_sample_weights: Tensor | None) -> tuple[Array, Array, Tensor | None, int]:
    """(flat indices, bag of each index, flat per-sample weights, number of bags)."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: if input is 2D, then offsets has to be None, as "
                             f"input is treated is a mini-batch of fixed length sequences. "
                             f"However, found offsets of type {type(offsets)}")
        b, n = input.shape
        flat = input.array.reshape(-1)
        bag = xp.repeat(xp.arange(b), n)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
        return flat, bag, psw, b
    if input.ndim != 1:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of "
                         f"dimension {input.ndim}")
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    off = offsets.array if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if off.ndim != 1 or off.dtype.kind not in "iu":
        raise ValueError(f"embedding_bag: offsets has to be a 1D integer Tensor, got shape "
                         f"{tuple(off.shape)} and dtype {off.dtype}")
    n = input.shape[0]
    bounds = off if include_last_offset else xp.append(off, n)
    if not off.size:
        raise ValueError("embedding_bag: offsets must hold at least one bag start, got an "
                         "empty tensor")
    if off[0] != 0:
        raise ValueError(f"embedding_bag: offsets[0] has to be 0, i.e., the first sequence in "
                         f"the mini-batch has to start from position 0. However, got {off[0]}")
    if xp.any(xp.diff(bounds) < 0) or bounds[-1] > n:
        raise ValueError(f"embedding_bag: offsets must be non-decreasing and at most the input "
                         f"length {n}, got {off.tolist()}")
    # NOTE: PyTorch's kernels disagree (float32 vs float64) on indices past a last offset
    # below the input length, so that case is refused rather than given one of the two answers.
    if include_last_offset and off[-1] != n:
        raise ValueError(f"embedding_bag: with include_last_offset, the last offset must be "
                         f"the input length {n}, got offsets {off.tolist()}")
    lengths = xp.diff(bounds)
    bag = xp.repeat(xp.arange(lengths.size), lengths)
    return input.array, bag, per_sample_weights, int(lengths.size)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2.0,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embeddings (``torch.nn.functional.embedding_bag``).

    Args:
        input: int64 indices: (B, N), B bags of N each, or 1-D with ``offsets``.
        weight: (num_embeddings, dim).
        offsets: for 1-D input, the start of each bag (``offsets[0] == 0``); with
            ``include_last_offset`` the last entry is the end of the last bag.
        mode: ``'sum'``, ``'mean'`` or ``'max'``.
        per_sample_weights: float weights, the shape of ``input``, scaling each row
            (``mode='sum'`` only).
        padding_idx: indices equal to it are left out of their bag (and of a mean's count).

    Returns:
        (B, dim); an empty bag gives zeros.

    Example:
        >>> import chainrule as cr
        >>> w = cr.arange(8.0).reshape(4, 2)
        >>> embedding_bag(cr.tensor([0, 1, 3]), w, cr.tensor([0, 2]), mode="sum").tolist()
        [[2.0, 4.0], [6.0, 7.0]]
    """
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are "
                                  "not supported")
    if not isinstance(input, Tensor):
        input = Tensor._wrap(xp.asarray(input))
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding_bag: indices must be an integer tensor, got {input.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding_bag: weight has to be a 2D Tensor, but got Tensor of "
                         f"dimension {weight.ndim}")
    if per_sample_weights is not None and per_sample_weights.shape != input.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights "
                         f"({tuple(per_sample_weights.shape)}) is not None, then it must "
                         f"have the same shape as the input ({tuple(input.shape)})")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                  f"per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}')")
    flat, bag, psw, n_bags = _bags(input, offsets, include_last_offset, per_sample_weights)
    num = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        bad = sorted(set(flat[(flat < 0) | (flat >= num)].tolist()))[:5]
        raise IndexError(f"embedding_bag: indices {bad} are out of range for {num} embeddings "
                         f"(valid: 0..{num - 1})")
    keep = xp.ones(flat.shape, bool) if padding_idx is None else flat != padding_idx % num
    ids, bag = flat[keep], bag[keep]
    rows = weight[ids]  # (K, dim)
    counts = xp.bincount(bag, minlength=n_bags)
    if mode == "max" and ids.size:
        slot = xp.arange(ids.size) - (xp.cumsum(counts) - counts)[bag]  # position in its bag
        table = xp.full((n_bags, int(counts.max())), ids.size)  # ids.size: the −∞ row below
        table[bag, slot] = xp.arange(ids.size)
        floor = Tensor._wrap(xp.full((1, weight.shape[1]), -xp.inf, weight.dtype))
        best = cat([rows, floor])[table].max(dim=1).values
        return where(Tensor._wrap(counts[:, None] > 0), best, 0.0)
    if psw is not None:
        rows = rows * psw[Tensor._wrap(xp.flatnonzero(keep))].unsqueeze(-1)
    dim = weight.shape[1]
    index = Tensor._wrap(xp.broadcast_to(bag[:, None], (bag.size, dim)))
    out = Tensor._wrap(xp.zeros((n_bags, dim), rows.dtype)).scatter_add(0, index, rows)
    if mode == "mean":
        out = out * Tensor._wrap((1.0 / xp.maximum(counts, 1)).astype(rows.dtype)[:, None])
    return out


# ---- resizing -----------------------------------------------------------------------------------


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


# ---- losses -------------------------------------------------------------------------------------


_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str, allowed: tuple[str, ...] = _REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{reduction!r} is not a valid value for reduction; expected one of "
                         f"{', '.join(map(repr, allowed))}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _as_target(target: Any, like: Tensor) -> Tensor:
    return target if isinstance(target, Tensor) else Tensor._wrap(xp.asarray(target, like.dtype))


def _same_shape(name: str, input: Tensor, target: Tensor, strict: bool) -> None:
    """PyTorch warns (regression losses) or raises (binary losses) when shapes differ."""
    if input.shape == target.shape:
        return
    msg = (f"{name}: target size {tuple(target.shape)} is different from the input size "
           f"{tuple(input.shape)}")
    if strict:
        raise ValueError(msg + "; please ensure they have the same size")
    warnings.warn(msg + ". This will likely lead to incorrect results due to broadcasting. "
                  "Please ensure they have the same size.", UserWarning, stacklevel=3)


# ---- regression -------------------------------------------------------------------------------
def _weighted(loss: Tensor, weight: Tensor | None) -> Tensor:
    return loss if weight is None else loss * weight


@float32_op
def mse_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """(x − y)² (times ``weight``, broadcast), reduced.  Shapes should match (a different
    shape warns and broadcasts, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 4.0]))
        tensor(2.5000)
        >>> F.mse_loss(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 4.0]), reduction="none")
        tensor([1., 4.])
    """
    target = _as_target(target, input)
    _same_shape("mse_loss", input, target, strict=False)
    diff = input - target
    return _reduce(_weighted(diff * diff, weight), reduction)


@float32_op
def l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """|x − y| (times ``weight``), reduced.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.l1_loss(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 0.0]))
        tensor(1.5000)
    """
    target = _as_target(target, input)
    _same_shape("l1_loss", input, target, strict=False)
    return _reduce(_weighted((input - target).abs(), weight), reduction)


@float32_op
def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """½(x − y)² where |x − y| < delta, else delta·(|x − y| − ½·delta) (times ``weight``).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.huber_loss(cr.tensor([0.0, 0.0]), cr.tensor([0.5, 3.0]))
        tensor(1.3125)
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _as_target(target, input)
    _same_shape("huber_loss", input, target, strict=False)
    diff = (input - target).abs()
    loss = where(diff < delta, 0.5 * diff * diff, delta * (diff - 0.5 * delta))
    return _reduce(_weighted(loss, weight), reduction)


@float32_op
def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """½(x − y)²/beta where |x − y| < beta, else |x − y| − ½·beta (= huber_loss / beta).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.smooth_l1_loss(cr.tensor([0.0, 0.0]), cr.tensor([0.5, 3.0]))
        tensor(1.3125)
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _as_target(target, input)
    _same_shape("smooth_l1_loss", input, target, strict=False)
    diff = (input - target).abs()
    if beta == 0:
        return _reduce(diff, reduction)
    return _reduce(where(diff < beta, (0.5 / beta) * diff * diff, diff - 0.5 * beta), reduction)


# ---- classification ---------------------------------------------------------------------------
def _class_targets(name: str, input: Tensor, target: Tensor, ignore_index: int) -> Any:
    """Validate integer class targets for input (N, C, d1, ...); returns (indices, kept mask)."""
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise ValueError(f"{name}: expected target of shape {tuple(expected)} (input "
                         f"{tuple(input.shape)}"
                         f" minus the class dim), got {tuple(target.shape)}")
    y = target.array
    keep = y != ignore_index
    n = input.shape[1]
    bad = keep & ((y < 0) | (y >= n))
    if bad.any():
        values = sorted(set(y[bad].tolist()))[:5]
        raise IndexError(f"{name}: target values {values} are out of bounds for {n} classes "
                         f"(expected 0..{n - 1}, or ignore_index={ignore_index})")
    return xp.where(keep, y, 0), keep


def _unbatched(input: Tensor, target: Tensor, soft: bool) -> tuple[Tensor, Tensor, bool]:
    if input.ndim == 1:
        batched = target.unsqueeze(0) if soft or target.ndim == 0 else target
        return input.unsqueeze(0), batched, True
    return input, target, False


def _class_shape(weight: Tensor | None, n: int, ndim: int, name: str) -> Any:
    if weight is None:
        return None
    if weight.shape != (n,):
        raise ValueError(f"{name}: weight must have shape ({n},) (one per class), got "
                         f"{tuple(weight.shape)}")
    return (1, n) + (1,) * (ndim - 2)


@float32_op
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities.

    Args:
        input: logits, shape (N, C), (N, C, d1, ...) or (C,).
        target: int64 class indices of shape (N,) / (N, d1, ...) / (), or float probabilities of
            the input's shape (then gradients also flow into the target).
        weight: per-class weights, shape (C,).
        ignore_index: an index target value that contributes nothing (index targets only).
        reduction: 'none' | 'mean' | 'sum'. With index targets 'mean' divides by the summed
            weight of the non-ignored targets; with probabilities by N·d1·….
        label_smoothing: ε in [0, 1]: the target becomes (1 − ε)·target + ε/C.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[2.0, 0.0], [0.0, 2.0]])
        >>> round(cr.nn.functional.cross_entropy(x, cr.tensor([0, 1])).item(), 4)
        0.1269
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class dim, got a 0-d tensor")
    soft = isinstance(target, Tensor) and target.dtype.kind == "f"
    if not isinstance(target, Tensor):
        target = Tensor._wrap(xp.asarray(target))
    input, target, squeeze = _unbatched(input, target, soft)
    n = input.shape[1]
    wshape = _class_shape(weight, n, input.ndim, "cross_entropy")
    if soft:
        if target.shape != input.shape:
            raise ValueError(f"cross_entropy: probability target of shape {tuple(target.shape)} "
                             f"must match the input's shape {tuple(input.shape)}")
        q = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / n
        if weight is not None:
            q = q * weight.reshape(wshape)
        q = q.to(input.dtype)
        count = input.numel() // n if n else 0
        # mean over N·d1·… (nan for an empty batch, as in PyTorch)
        scale = 1.0 if reduction == "sum" else (1.0 / count if count else float("nan"))
    else:
        if target.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: target must be int64 class indices or float "
                            f"probabilities, got {target.dtype}")
        q, total = _index_distribution(input, target, weight, ignore_index, label_smoothing)
        scale = 1.0 if reduction == "sum" else (1.0 / total if total else float("nan"))
    if reduction == "none":
        loss = cross_entropy_logits(input, q)
        return loss.squeeze(0) if squeeze else loss
    return cross_entropy_logits(input, q, scale=scale)


def _index_distribution(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                        label_smoothing: float) -> tuple[Tensor, float]:
    """The target distribution q for class-index targets, and the total weight of the counted
    targets (the divisor of PyTorch's weighted mean)."""
    n = input.shape[1]
    y = target._physical()  # (batched inside vmap: every sample's targets are checked)
    shape = input.shape[:1] + input.shape[2:]
    if (weight is None and not label_smoothing and target.shape == shape and y.size
            and not 0 <= ignore_index < n and y.min() >= 0 and y.max() < n):
        # Fast path (the common case): plain one-hot, every target counted. (The target's
        # shape and count, not its array's: under vmap the array holds the whole batch.)
        return (OneHot.apply(target, num_classes=n, dim=1, dtype=input.dtype),
                float(target.numel()))
    y, keep = _class_targets("cross_entropy", input, target, ignore_index)
    w = xp.ones(n, input.dtype) if weight is None else weight.array.astype(input.dtype)
    classes = xp.arange(n).reshape((1, n) + (1,) * (input.ndim - 2))
    q = (y[:, None] == classes) * ((1 - label_smoothing) * w[y])[:, None]
    if label_smoothing:
        q = q + (label_smoothing / n) * w.reshape(classes.shape)
    q = (q * keep[:, None]).astype(input.dtype)
    return Tensor._wrap(q), float((w[y] * keep).sum())


@float32_op
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1...) at class ``target``:
    −weight[y]·input[n, y]; 'mean' divides by Σ weight[y] over non-ignored targets.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> logp = cr.log_softmax(cr.tensor([[2.0, 0.0], [0.0, 2.0]]), dim=1)
        >>> F.nll_loss(logp, cr.tensor([0, 1]))
        tensor(0.1269)
    """
    _check_reduction(reduction)
    if not isinstance(target, Tensor):
        target = Tensor._wrap(xp.asarray(target))
    if target.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must be int64 class indices, got {target.dtype}")
    input, target, squeeze = _unbatched(input, target, False)
    n = input.shape[1]
    _class_shape(weight, n, input.ndim, "nll_loss")
    y, keep = _class_targets("nll_loss", input, target, ignore_index)
    w = xp.ones(n, input.dtype) if weight is None else weight.array.astype(input.dtype)
    scale = (w[y] * keep).astype(input.dtype)
    picked = input.gather(1, Tensor._wrap(y[:, None])).squeeze(1)
    loss = -picked * Tensor._wrap(scale)
    if reduction == "mean":
        return loss.sum() / float(scale.sum())
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if squeeze else loss


@float32_op
def binary_cross_entropy(input: Tensor, target: Any, weight: Tensor | None = None,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """−w·[y·log x + (1 − y)·log(1 − x)] for probabilities x; each log is clamped at −100 as in
    PyTorch, so x = 0 or 1 gives a finite loss.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.binary_cross_entropy(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0]))
        tensor(0.6931)
    """
    if not is_floating(input.dtype):
        raise RuntimeError(f"binary_cross_entropy: not implemented for dtype {input.dtype} "
                           "(probabilities must be floating point)")
    target = _as_target(target, input)
    _same_shape("binary_cross_entropy", input, target, strict=True)
    if ((input.array < 0) | (input.array > 1)).any():
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1, "
                         f"got min {input.array.min()}, max {input.array.max()}")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@float32_op
def binary_cross_entropy_with_logits(input: Tensor, target: Any, weight: Tensor | None = None,
                                     size_average: Any = None, reduce: Any = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE on logits, stably: (1 − y)·x + (1 + (pos_weight − 1)·y)·softplus(−x), times ``weight``.

    ``pos_weight`` (broadcast along the last dim, e.g. shape (C,)) scales the positive term.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(cr.tensor([0.0, 100.0]), cr.tensor([1.0, 1.0]))
        tensor(0.3466)
    """
    target = _as_target(target, input)
    _same_shape("binary_cross_entropy_with_logits", input, target, strict=True)
    sp = softplus(-input, threshold=float("inf"))
    if pos_weight is not None:
        loss = (1 - target) * input + ((pos_weight - 1) * target + 1) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


@float32_op
def hinge_embedding_loss(input: Tensor, target: Any, margin: float = 1.0,
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin − x) where y = −1.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.hinge_embedding_loss(cr.tensor([0.3, 2.0]), cr.tensor([1, -1]))
        tensor(0.1500)
    """
    target = _as_target(target, input)
    t = target.array
    zero = Tensor._wrap(xp.zeros((), input.dtype))
    out = where(Tensor._wrap(t != 1), (margin - input).clamp(min=0), zero)
    out = out + where(Tensor._wrap(t != -1), input, zero)
    return _reduce(out, reduction)


@float32_op
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: Any = None, reduce: Any = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge: Σ_{j ≠ y} w[y]·max(0, margin − x[y] + x[j])^p / C for input (N, C).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.multi_margin_loss(cr.tensor([[0.1, 0.2, 0.4, 0.8]]), cr.tensor([3]))
        tensor(0.3250)
    """
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 supported, got {p}")
    if not isinstance(target, Tensor):
        target = Tensor._wrap(xp.asarray(target))
    squeeze = input.ndim == 1
    if squeeze:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim != 2:
        raise ValueError(f"multi_margin_loss: expected input of shape (N, C) or (C,), got "
                         f"{tuple(input.shape)}")
    n = input.shape[1]
    y, _ = _class_targets("multi_margin_loss", input, target, ignore_index=-(2**62))
    picked = input.gather(1, Tensor._wrap(y[:, None]))
    z = (margin - picked + input).clamp(min=0)
    if p == 2:
        z = z * z
    others = (y[:, None] != xp.arange(n)).astype(input.dtype)
    if weight is not None:
        others = others * weight.array.astype(input.dtype)[y][:, None]
    loss = (z * Tensor._wrap(others)).sum(1) * (1.0 / n)
    return _reduce(loss.squeeze(0) if squeeze and reduction == "none" else loss, reduction)


@float32_op
def kl_div(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target ‖ exp(input)) pointwise for log-probabilities ``input``:
    y·(log y − x) (0 where y = 0), or eʸ·(y − x) with ``log_target``.

    ``reduction='batchmean'`` divides the sum by the batch size (the true KL divergence);
    'mean' divides by the number of elements, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> p = cr.tensor([[0.5, 0.5]])
        >>> F.kl_div(p.log(), p, reduction="batchmean")
        tensor(0.)
    """
    _check_reduction(reduction, (*_REDUCTIONS, "batchmean"))
    target = _as_target(target, input)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = Tensor._wrap(target.array > 0)
        safe = where(positive, target, 1.0)
        loss = where(positive, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() * (1.0 / input.shape[0]) if input.ndim else loss.sum()
    return _reduce(loss, reduction)


_COSINE_EPS = 1e-12  # added to the squared norms, as ATen's cosine_embedding_loss does


# ---- margin and embedding losses (ATen's formulas, broadcasting and checks) ---------------
@float32_op
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, −y·(x1 − x2) + margin): y = 1 ranks x1 above x2, y = −1 the reverse.

    Args:
        input1, input2: scores, any shape (all three must have the same number of dims; they
            broadcast).
        target: ±1 labels.
        margin: the required gap.

    Example:
        >>> import chainrule as cr
        >>> F = cr.nn.functional
        >>> F.margin_ranking_loss(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 0.0]),
        ...                       cr.tensor([1.0, 1.0]), margin=0.5).item()
        0.75
    """
    _check_reduction(reduction)
    target = _as_target(target, input1)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss: all input tensors should have the same number "
                           f"of dims, got input1 {tuple(input1.shape)}, input2 "
                           f"{tuple(input2.shape)}, target {tuple(target.shape)}")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


@float32_op
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Tensor:
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (0 elsewhere).

    cos = Σ x1·x2 / √((Σ x1² + 1e-12)·(Σ x2² + 1e-12)) over the last dim, as in PyTorch.

    Shape:
        input1, input2: (N, D) with target (N,), or (D,) with a 0-d target.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> a = cr.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> b = cr.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> F.cosine_embedding_loss(a, b, cr.tensor([1, -1]))
        tensor(0.)
    """
    _check_reduction(reduction)
    target = _as_target(target, input1)
    if target.ndim not in (0, 1):
        raise RuntimeError(f"cosine_embedding_loss: 0D or 1D target tensor expected, "
                           f"multi-target not supported; got target {tuple(target.shape)}")
    want = 2 if target.ndim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"cosine_embedding_loss: {target.ndim}D target tensor expects {want}D "
                           f"input tensors, but found inputs with sizes {tuple(input1.shape)} "
                           f"and {tuple(input2.shape)}")
    dim = target.ndim
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + _COSINE_EPS
    mag2 = (input2 * input2).sum(dim) + _COSINE_EPS
    cos = prod / (mag1 * mag2).sqrt()
    y = target.array
    loss = (where(Tensor._wrap(y == 1), 1 - cos, 0.0)
            + where(Tensor._wrap(y == -1), (cos - margin).clamp(min=0), 0.0))
    return _reduce(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + eps‖_p over the last dim (PyTorch adds ``eps`` to the difference).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.pairwise_distance(cr.tensor([[0.0, 0.0]]), cr.tensor([[3.0, 4.0]]))
        tensor([5.0000])
    """
    return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)


@float32_op
def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, d(a, p) − d(a, n) + margin) with d the ``pairwise_distance`` (p-norm over the
    last dim); ``swap`` uses min(d(a, n), d(p, n)) as the negative distance.

    Shape:
        anchor, positive, negative: (N, D) or (D,), all with the same number of dims.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> a, p, n = cr.tensor([[0.0, 0.0]]), cr.tensor([[0.0, 1.0]]), cr.tensor([[0.0, 3.0]])
        >>> F.triplet_margin_loss(a, p, n)
        tensor(0.)
        >>> F.triplet_margin_loss(a, n, p)
        tensor(3.)
    """
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"triplet_margin_loss: the anchor, positive, and negative tensors are "
                           f"expected to have the same number of dimensions, but got anchor "
                           f"{tuple(anchor.shape)}, positive {tuple(positive.shape)} and "
                           f"negative {tuple(negative.shape)}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction)


@float32_op
def soft_margin_loss(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(−y·x)) for ±1 labels y (computed stably as softplus(−y·x)).

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.soft_margin_loss(cr.tensor([0.0, 0.0]), cr.tensor([1.0, -1.0]))
        tensor(0.6931)
    """
    _check_reduction(reduction)
    target = _as_target(target, input)
    return _reduce(softplus(-input * target, threshold=float("inf")), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Any, weight: Tensor | None = None,
                                size_average: Any = None, reduce: Any = None,
                                reduction: str = "mean") -> Tensor:
    """−(1/C)·Σ_c w_c·[y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c)] over the last (class) dim, for
    multi-hot targets y of the input's shape (N, C); 'none' gives one loss per sample.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.multilabel_soft_margin_loss(cr.tensor([[0.0, 0.0]]), cr.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    _check_reduction(reduction)
    target = _as_target(target, input)
    if input.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss: input must have a class dim, got a 0-d "
                         "tensor")
    log_sig = -softplus(-input, threshold=float("inf"))       # log σ(x)
    log_sig_neg = -softplus(input, threshold=float("inf"))    # log σ(−x)
    loss = -(target * log_sig + (1 - target) * log_sig_neg)
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(-1) / input.shape[-1]
    return _reduce(loss, reduction)


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---- negative log-likelihoods of distributions: Gaussian, Poisson -------------------------
def _gaussian_var(input: Tensor, var: Any) -> Tensor:
    """``var`` checked (non-negative; shaped like the input, or one dim short of it, or equal
    to it but for one dim of size 1) and brought to a shape that broadcasts against input."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var has negative entry/entries, got {var}")
        return Tensor._wrap(xp.full(input.shape, var, input.dtype))
    if not isinstance(var, Tensor):
        var = Tensor._wrap(xp.asarray(var, input.dtype))
    if (var.array < 0).any():
        raise ValueError(f"gaussian_nll_loss: var has negative entry/entries (min "
                         f"{var.array.min()})")
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:  # homoscedastic: one variance per sample
        return var.unsqueeze(-1)
    mismatched = [v for i, v in zip(input.shape, var.shape) if i != v]
    if var.ndim == input.ndim and sum(mismatched) == 1:  # one shared (size-1) dim
        return var
    raise ValueError(f"gaussian_nll_loss: var of shape {tuple(var.shape)} is of incorrect size "
                     f"for input {tuple(input.shape)}; expected the input's shape, the input's "
                     f"shape without its last dim, or the input's shape with one dim of size 1")


def gaussian_nll_loss(input: Tensor, target: Any, var: Any, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """½·(log max(var, eps) + (x − y)² / max(var, eps)) (+ ½·log 2π with ``full``).

    As in PyTorch the clamp at ``eps`` is applied without autograd: where var < eps the loss
    uses eps but the gradient still flows into ``var`` as if unclamped.

    Args:
        input: the predicted means, shape (N, *) or (*).
        target: samples, the input's shape (or broadcastable to it).
        var: predicted variances: the input's shape, the input's shape without its last dim
            (one variance per sample), the input's shape with one dim of size 1, or a float.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.0, 1.0])
        >>> cr.nn.functional.gaussian_nll_loss(x, cr.tensor([1.0, 1.0]), 1.0).item()
        0.25
    """
    var = _gaussian_var(input, var)
    _check_reduction(reduction)
    target = _as_target(target, input)
    # value clamp(var, eps), gradient the identity (PyTorch clamps a clone under no_grad)
    var = var - var.detach() + var.detach().clamp(min=eps)
    diff = input - target
    loss = 0.5 * (var.log() + diff * diff / var)
    if full:
        loss = loss + _HALF_LOG_2PI
    return _reduce(loss, reduction)


@float32_op
def poisson_nll_loss(input: Tensor, target: Any, log_input: bool = True, full: bool = False,
                     size_average: Any = None, eps: float = 1e-8, reduce: Any = None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood of counts y under rate λ:

    exp(x) − y·x for ``log_input`` (x = log λ), else x − y·log(x + eps) (x = λ); ``full`` adds
    Stirling's approximation of log(y!), y·log y − y + ½·log(2πy), where y > 1.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> F.poisson_nll_loss(cr.tensor([0.0, 0.0]), cr.tensor([1.0, 2.0]))
        tensor(1.)
    """
    _check_reduction(reduction)
    target = _as_target(target, input)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = Tensor._wrap(target.array > 1)
        y = where(big, target, 1.0)  # keeps log finite (and gradients clean) where masked
        stirling = y * y.log() - y + 0.5 * (2 * math.pi * y).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


__all__ = [
    "batch_norm", "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu",
    "cosine_embedding_loss", "cosine_similarity", "cross_entropy", "dropout", "dropout2d", "elu",
    "embedding", "flatten", "gaussian_nll_loss", "glu", "group_norm", "hardshrink", "hardsigmoid",
    "hardswish", "hardtanh", "hinge_embedding_loss", "huber_loss", "instance_norm", "interpolate",
    "kl_div", "l1_loss", "layer_norm", "leaky_relu", "logsigmoid", "margin_ranking_loss", "mish",
    "mse_loss", "multi_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "normalize",
    "pairwise_distance", "poisson_nll_loss", "prelu", "relu", "relu6", "rms_norm",
    "scaled_dot_product_attention", "selu", "silu", "smooth_l1_loss", "soft_margin_loss",
    "softmin", "softshrink", "softsign", "tanhshrink", "threshold", "triplet_margin_loss",
    *_FUNCTIONAL,
]


__all__ += ["embedding_bag"]
