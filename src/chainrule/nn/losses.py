"""Loss functions (``torch.nn.functional``'s), composed from primitives; cross entropy on logits is
the fused ``CrossEntropy`` primitive (``chainrule.ops.loss``).

Every function takes ``reduction``: ``'none'`` (per-element losses), ``'mean'`` (default) or
``'sum'``; ``kl_div`` also takes ``'batchmean'``. Class-weighted ``'mean'`` divides by the total
weight of the counted targets, exactly as PyTorch does.
"""

from __future__ import annotations

import warnings
from typing import Any

from chainrule.amp.autocast_mode import float32_op
from chainrule.backend import is_floating, xp
from chainrule.ops.activation import softplus
from chainrule.ops.elementwise import where
from chainrule.ops.loss import BinaryCrossEntropy, cross_entropy_logits
from chainrule.ops.movement import OneHot
from chainrule.tensor import Tensor

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
    y = target.data
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
    y = target.data
    shape = input.shape[:1] + input.shape[2:]
    if (weight is None and not label_smoothing and y.shape == shape and y.size
            and not 0 <= ignore_index < n and y.min() >= 0 and y.max() < n):
        # Fast path (the common case): plain one-hot, every target counted.
        return OneHot.apply(target, num_classes=n, dim=1, dtype=input.dtype), float(y.size)
    y, keep = _class_targets("cross_entropy", input, target, ignore_index)
    w = xp.ones(n, input.dtype) if weight is None else weight.data.astype(input.dtype)
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
    w = xp.ones(n, input.dtype) if weight is None else weight.data.astype(input.dtype)
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
    if ((input.data < 0) | (input.data > 1)).any():
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1, "
                         f"got min {input.data.min()}, max {input.data.max()}")
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
    t = target.data
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
        others = others * weight.data.astype(input.dtype)[y][:, None]
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
        positive = Tensor._wrap(target.data > 0)
        safe = where(positive, target, 1.0)
        loss = where(positive, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        return loss.sum() * (1.0 / input.shape[0]) if input.ndim else loss.sum()
    return _reduce(loss, reduction)


__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
    "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss", "mse_loss", "multi_margin_loss",
    "nll_loss", "smooth_l1_loss",
]
