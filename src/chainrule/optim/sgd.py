"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

from chainrule import kernels
from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class SGD(Optimizer):
    """SGD (``torch.optim.SGD``), step for step.

    With g = ∇ (+ weight_decay·p), b = momentum·b + (1 − dampening)·g (b₁ = g), the update is
    p ← p − lr·(g + momentum·b) with Nesterov, else p ← p − lr·b (p ← p − lr·g without momentum).
    One pass per parameter (``chainrule.kernels.optim``) when the fused kernels are on.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        momentum: momentum factor μ (0 disables the buffer).
        dampening: scales the gradient entering the buffer by (1 − dampening).
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.SGD([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        Parameter containing:
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check(not nesterov or (momentum > 0 and dampening == 0),
              "Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"momentum_buffer": None}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        momentum, buf = group["momentum"], state["momentum_buffer"]
        first = bool(momentum) and buf is None
        if first:
            buf = xp.empty_like(p)
        if kernels.fits_in_place(p, *(() if buf is None else (buf,))):
            if first:
                state["momentum_buffer"] = buf
            kernels.optim.sgd(p, g, buf if momentum else None, first, lr=group["lr"],
                              momentum=momentum, dampening=group["dampening"],
                              weight_decay=group["weight_decay"], nesterov=group["nesterov"])
            return
        g = self._with_decay(p, g, group["weight_decay"])
        if momentum:
            if first:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                if group["dampening"]:
                    buf += xp.multiply(g, 1.0 - group["dampening"], out=self._scratch(p))
                else:
                    buf += g
            if group["nesterov"]:
                tmp = xp.multiply(buf, momentum, out=self._scratch(p))
                tmp += g
                g = tmp
            else:
                g = buf
        tmp = xp.multiply(g, group["lr"], out=self._scratch(p, 3))
        p -= tmp
