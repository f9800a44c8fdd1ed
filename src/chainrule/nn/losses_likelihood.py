"""Negative log-likelihood losses of distributions (``torch.nn.functional``'s): Gaussian and
Poisson, composed from existing tensor ops with PyTorch's formulas, clamping and shape rules."""

from __future__ import annotations

import math
from typing import Any

from chainrule.amp.autocast_mode import float32_op
from chainrule.backend import xp
from chainrule.nn.losses import _as_target, _check_reduction, _reduce
from chainrule.ops.elementwise import where
from chainrule.tensor import Tensor

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _gaussian_var(input: Tensor, var: Any) -> Tensor:
    """``var`` checked (non-negative; shaped like the input, or one dim short of it, or equal
    to it but for one dim of size 1) and brought to a shape that broadcasts against input."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var has negative entry/entries, got {var}")
        return Tensor._wrap(xp.full(input.shape, var, input.dtype))
    if not isinstance(var, Tensor):
        var = Tensor._wrap(xp.asarray(var, input.dtype))
    if (var.data < 0).any():
        raise ValueError(f"gaussian_nll_loss: var has negative entry/entries (min "
                         f"{var.data.min()})")
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
        big = Tensor._wrap(target.data > 1)
        y = where(big, target, 1.0)  # keeps log finite (and gradients clean) where masked
        stirling = y * y.log() - y + 0.5 * (2 * math.pi * y).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]
