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
from chainrule.ops.activation import floating_input, gelu, numeric_input, sigmoid, softplus
from chainrule.ops.adaptive_pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from chainrule.ops.conv import conv1d, conv2d
from chainrule.ops.conv_transpose import conv_transpose1d, conv_transpose2d
from chainrule.ops.elementwise import clamp, where
from chainrule.ops.fold import fold, unfold
from chainrule.ops.fused import log_softmax, softmax
from chainrule.ops.linalg import einsum, linear
from chainrule.ops.movement import one_hot, pad
from chainrule.ops.pool import (
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from chainrule.ops.unary import tanh
from chainrule.random import Generator
from chainrule.tensor import Tensor


# ---- activations: the ops, with PyTorch's ``inplace`` flag (computed out of place) -----------
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
    idx = input.data
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


__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm",
    "bilinear", "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "conv1d",
    "conv2d", "conv_transpose1d", "conv_transpose2d", "cosine_embedding_loss",
    "cosine_similarity", "cross_entropy", "dropout", "dropout2d", "elu", "embedding",
    "flatten", "fold", "gaussian_nll_loss", "gelu", "glu", "group_norm", "hardshrink",
    "hardsigmoid", "hardswish", "hardtanh", "hinge_embedding_loss", "huber_loss",
    "instance_norm", "interpolate", "kl_div", "l1_loss", "layer_norm", "leaky_relu", "linear",
    "log_softmax", "logsigmoid", "margin_ranking_loss", "max_pool1d", "max_pool2d", "mish",
    "mse_loss", "multi_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "normalize",
    "one_hot", "pad", "pairwise_distance", "poisson_nll_loss", "prelu", "relu", "relu6",
    "rms_norm", "scaled_dot_product_attention", "selu", "sigmoid", "silu", "smooth_l1_loss",
    "soft_margin_loss", "softmax", "softmin", "softplus", "softshrink", "softsign", "tanh",
    "tanhshrink", "threshold", "triplet_margin_loss", "unfold",
]

from chainrule.ops.adaptive_pool import (  # noqa: E402
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)
from chainrule.ops.conv import conv3d  # noqa: E402
from chainrule.ops.conv_transpose import conv_transpose3d  # noqa: E402
from chainrule.ops.pool import avg_pool3d, max_pool3d  # noqa: E402

__all__ += ["adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "avg_pool3d",
            "conv3d",
            "conv_transpose3d", "max_pool3d"]

from chainrule.nn.embedding_bag import embedding_bag  # noqa: E402

__all__ += ["embedding_bag"]
