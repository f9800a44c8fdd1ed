"""Adadelta: unit-corrected steps from running averages of squared gradients and updates."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``), step for step.

    v ← ρv + (1−ρ)g²,  Δ = √(u + eps)/√(v + eps) · g,  u ← ρu + (1−ρ)Δ²,  p ← p − lr·Δ.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: scales the unit-corrected step Δ (1.0 is the original algorithm).
        rho: decay rate of both running averages.
        eps: added inside both square roots.
        weight_decay: L2 penalty added to the gradient.
        maximize: ascend the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.Adadelta([w])
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.9968], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": xp.zeros_like(p.array),
                "acc_delta": xp.zeros_like(p.array)}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        g = self._with_decay(p, g, group["weight_decay"])
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        tmp = xp.multiply(g, g, out=self._scratch(p))
        tmp *= 1.0 - rho
        v += tmp
        std = xp.add(v, eps, out=self._scratch(p, 3))
        xp.sqrt(std, out=std)
        delta = xp.add(u, eps, out=self._scratch(p))
        xp.sqrt(delta, out=delta)
        delta /= std
        delta *= g
        u *= rho
        tmp = xp.multiply(delta, delta, out=std)
        tmp *= 1.0 - rho
        u += tmp
        delta *= group["lr"]
        p -= delta
