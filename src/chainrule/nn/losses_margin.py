"""Margin and embedding losses (``torch.nn.functional``'s): ranking, cosine embedding, triplet,
soft margin and multi-label soft margin, composed from existing tensor ops.

Every function takes ``reduction``: ``'none'``, ``'mean'`` (default) or ``'sum'``; the formulas,
the broadcasting and the argument checks follow PyTorch's (ATen's) definitions.
"""

from __future__ import annotations

from typing import Any

from chainrule.amp.autocast_mode import float32_op
from chainrule.nn.losses import _as_target, _check_reduction, _reduce
from chainrule.ops.activation import softplus
from chainrule.ops.elementwise import minimum, where
from chainrule.tensor import Tensor

_COSINE_EPS = 1e-12  # added to the squared norms, as ATen's cosine_embedding_loss does


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
    y = target.data
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


__all__ = [
    "cosine_embedding_loss", "margin_ranking_loss", "multilabel_soft_margin_loss",
    "pairwise_distance", "soft_margin_loss", "triplet_margin_loss",
]
