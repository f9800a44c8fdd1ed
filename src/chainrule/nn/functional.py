"""Stateless layer functions (``torch.nn.functional``; import as ``F``).

Activations are the ops themselves (re-exported) or composites of them; the rest are composed
from primitives. The losses live in ``chainrule.nn.losses``, ``losses_margin`` and
``losses_likelihood``, the normalisation functions in ``chainrule.nn.normalization_functional``
and ``interpolate`` in ``chainrule.nn.upsampling``; all are re-exported here.
"""

from __future__ import annotations

from typing import Any

from chainrule import random as _random
from chainrule.backend import xp
from chainrule.nn.attention import scaled_dot_product_attention
from chainrule.nn.dropout2d import dropout2d
from chainrule.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
)
from chainrule.nn.losses_likelihood import gaussian_nll_loss, poisson_nll_loss
from chainrule.nn.losses_margin import (
    cosine_embedding_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
)
from chainrule.nn.normalization_functional import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    rms_norm,
)
from chainrule.nn.upsampling import interpolate
from chainrule.ops import activation as _A
from chainrule.ops.activation import floating_input, numeric_input, sigmoid, softplus
from chainrule.ops.elementwise import clamp, where
from chainrule.ops.fused import softmax
from chainrule.ops.linalg import einsum
from chainrule.ops.table import FUNCTIONAL as _FUNCTIONAL
from chainrule.ops.unary import tanh
from chainrule.random import Generator
from chainrule.tensor import Tensor

globals().update(_FUNCTIONAL)  # the ops F re-exports (conv2d, softmax, pad, ...): ops/table.py


# ---- activations: the ops, with PyTorch's ``inplace`` flag (computed out of place) -----------
@numeric_input
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return _A.relu(input)


@floating_input
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x."""
    return _A.leaky_relu(input, negative_slope)


@floating_input
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(eˣ − 1)."""
    return _A.elu(input, alpha)


@floating_input
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x)."""
    return _A.silu(input)


@numeric_input
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return clamp(input, *_bounds(input, 0.0, 6.0))


@numeric_input
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]."""
    return clamp(input, *_bounds(input, min_val, max_val))


def _bounds(input: Tensor, lo: float, hi: float) -> tuple[float, float]:
    """Clamp bounds that keep an integer tensor integer (PyTorch's relu6/hardtanh on int64)."""
    return (int(lo), int(hi)) if input.dtype.kind in "iu" else (lo, hi)


@floating_input
def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return -softplus(-input, threshold=float("inf"))


@floating_input
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return input * tanh(softplus(input))


@numeric_input
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (1 + input.abs())


@numeric_input
def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x)."""
    return input - tanh(input)


# SELU's constants (Klambauer et al., 2017), as in PyTorch
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@floating_input
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·(x if x > 0 else alpha·(eˣ − 1)), alpha ≈ 1.6733, scale ≈ 1.0507."""
    return _A.elu(input, _SELU_ALPHA) * _SELU_SCALE


@floating_input
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(e^(x/alpha) − 1), i.e. alpha·elu(x/alpha)."""
    if alpha == 0:
        raise ValueError(f"celu: alpha cannot be 0, got {alpha}")
    return _A.elu(input / alpha, 1.0) * alpha


@floating_input
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x/6 + 1/2, 0), 1): 0 below −3, 1 above 3, linear between."""
    return clamp(input + 3.0, 0.0, 6.0) / 6.0


@floating_input
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·hardsigmoid(x): 0 below −3, x above 3, x·(x + 3)/6 between."""
    return input * hardsigmoid(input)


def softmin(input: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    """e^(−x_i) / Σ_j e^(−x_j) along ``dim``: softmax of −x."""
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


@numeric_input
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value."""
    return where(input > threshold, input, value)


@floating_input
def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x − lambd if x > lambd, x + lambd if x < −lambd, else 0 (x − clamp(x, −lambd, lambd))."""
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    return input - clamp(input, -lambd, lambd)


@floating_input
def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x if |x| > lambd else 0."""
    return where(input.abs() > lambd, input, 0.0)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight·x, with one weight (numel 1) shared by all channels or one per
    channel (dim 1 of the input; ``weight`` of shape (C,))."""
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
    """y_k = x1ᵀ W_k x2 + b_k for x1 (..., in1), x2 (..., in2), W (out, in1, in2), b (out,)."""
    if weight.ndim != 3 or input1.shape[-1] != weight.shape[1] or \
            input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear: inputs of shapes {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} do not match weight {tuple(weight.shape)}")
    out = einsum("...i,kij,...j->...k", input1, weight, input2)
    return out if bias is None else out + bias


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator: Generator | None = None) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    1/(1 − p), so the expectation is unchanged; the identity when not ``training``.

    The mask comes from the global generator (``chainrule.manual_seed``) unless ``generator``.
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
    has shape input.shape + (dim,). The row at ``padding_idx`` receives no gradient."""
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
    """x / max(‖x‖_p, eps) along ``dim``."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


@floating_input
def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a·σ(b) where a, b are the halves of ``input`` along ``dim``."""
    if input.shape[dim] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} is size "
                           f"{input.shape[dim]}")
    a, b = input.chunk(2, dim)
    return a * sigmoid(b)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along ``dim``."""
    n1 = x1.norm(2, dim).clamp(min=eps)
    n2 = x2.norm(2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


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


from chainrule.nn.embedding_bag import embedding_bag  # noqa: E402

__all__ += ["embedding_bag"]
