"""Parameter utilities (``torch.nn.utils``): gradient clipping, flat vectors, weight penalties."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from chainrule.autograd.tape import replayed
from chainrule.backend import default_float, xp
from chainrule.tensor import Tensor

Params = Tensor | Iterable[Tensor]


def _list(parameters: Params) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


@replayed
def clip_grad_norm_(parameters: Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Any = None) -> Tensor:
    """Scale the gradients in place so their joint ``norm_type``-norm is at most ``max_norm``.

    The total norm is that of all gradients concatenated into one vector; gradients are scaled
    by max_norm / (total + 1e-6) when that is below 1.

    Returns:
        The total norm before clipping, as a 0-d tensor.

    Raises:
        RuntimeError: if ``error_if_nonfinite`` and the total norm is NaN or infinite.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.zeros(2)); w.grad = cr.tensor([3.0, 4.0])
        >>> cr.nn.utils.clip_grad_norm_([w], 1.0).item()
        5.0
        >>> [round(v, 4) for v in w.grad.tolist()]
        [0.6, 0.8]
    """
    parameters = _list(parameters)  # (an iterator is read once, for both steps)
    total = get_total_norm([p.grad for p in parameters if p.grad is not None], norm_type,
                           error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


@replayed
def get_total_norm(tensors: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: Any = None) -> Tensor:
    """The ``norm_type``-norm of ``tensors`` (usually gradients) joined into one vector.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.utils.get_total_norm([cr.tensor([3.0]), cr.tensor([4.0])]).item()
        5.0
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    if not tensors:
        return Tensor._wrap(xp.zeros((), default_float()))
    norm_type = float(norm_type)
    if math.isinf(norm_type):
        norms = [xp.abs(t.array).max() if t.array.size else 0.0 for t in tensors]
        total = float(max(norms))
    else:
        total = float(sum(float((xp.abs(t.array.astype(xp.float64)) ** norm_type).sum())
                          for t in tensors)) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable this "
                           "error and scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor._wrap(xp.asarray(total, tensors[0].dtype))


@replayed
def clip_grads_with_norm_(parameters: Params, max_norm: float, total_norm: Any,
                          foreach: Any = None) -> None:
    """Scale the gradients in place by max_norm / (total_norm + 1e-6) when that is below 1
    (``clip_grad_norm_`` with the total norm given).

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.zeros(2)); w.grad = cr.tensor([3.0, 4.0])
        >>> cr.nn.utils.clip_grads_with_norm_([w], 1.0, cr.nn.utils.get_total_norm([w.grad]))
        >>> [round(v, 4) for v in w.grad.tolist()]
        [0.6, 0.8]
    """
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # NaN/inf norms scale by NaN/0, as in PyTorch
        for p in _list(parameters):
            if p.grad is not None:
                p.grad.array *= p.grad.array.dtype.type(coef)
                p.grad._version += 1


@replayed
def clip_grad_value_(parameters: Params, clip_value: float, foreach: Any = None) -> None:
    """Clamp every gradient element to [−clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _list(parameters):
        if p.grad is not None:
            xp.clip(p.grad.array, -clip_value, clip_value, out=p.grad.array)
            p.grad._version += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from chainrule.ops.movement import cat

    params = _list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected Tensor, but got: {type(vec).__name__}")
    params = _list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(f"vector_to_parameters: vector of shape {tuple(vec.shape)} does not "
                         f"hold the parameters' {total} elements")
    offset = 0
    for p in params:
        n = p.numel()
        p.array[...] = vec.array[offset:offset + n].reshape(p.shape)
        p._version += 1
        offset += n


def l1_penalty(parameters: Params) -> Tensor:
    """‖θ‖₁ = Σ |θ_i| over all parameters, differentiable: add λ·l1_penalty(params) to a loss
    for L1 regularisation (sparse weights).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.utils.l1_penalty([cr.tensor([1.0, -2.0]), cr.tensor([3.0])]).item()
        6.0
    """
    params = _list(parameters)
    if not params:
        raise ValueError("l1_penalty: no parameters given")
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total


def l2_penalty(parameters: Params, squared: bool = True) -> Tensor:
    """Σ θ_i² over all parameters (``squared=False``: its square root ‖θ‖₂), differentiable:
    ``loss + λ·l2_penalty(params)`` is L2 regularisation (weight decay 2λ for plain SGD)."""
    params = _list(parameters)
    if not params:
        raise ValueError("l2_penalty: no parameters given")
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total if squared else total.sqrt()


__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "l1_penalty", "l2_penalty", "parameters_to_vector", "vector_to_parameters",
]


from chainrule.nn.utils import parametrizations, parametrize, rnn  # noqa: E402
from chainrule.nn.utils.rnn import PackedSequence  # noqa: E402
from chainrule.nn.utils.weight_norm import remove_weight_norm, weight_norm  # noqa: E402

__all__ += ["PackedSequence", "parametrizations", "parametrize", "remove_weight_norm", "rnn",
            "weight_norm"]
