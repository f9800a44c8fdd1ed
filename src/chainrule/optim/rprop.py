"""Rprop: per-element step sizes adapted from the sign of successive gradients."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class Rprop(Optimizer):
    """Resilient backpropagation (``torch.optim.Rprop``), step for step.

    Each element keeps its own step size Δ (initially ``lr``) and the previous gradient g′.
    With s = sign(g·g′): Δ ← clamp(Δ·η₊, Δmin, Δmax) where s > 0, Δ ← clamp(Δ·η₋, …) where
    s < 0 (and g is set to 0 there, so the next step does not shrink Δ again), Δ unchanged
    where s = 0; then p ← p − sign(g)·Δ and g′ ← g. Only the sign of the gradient is used.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: the initial step size Δ of every element.
        etas: (η₋, η₊), the factors that shrink and grow Δ; 0 < η₋ < 1 < η₊.
        step_sizes: (Δmin, Δmax), the bounds on Δ.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (int), ``prev`` (g′) and ``step_size`` (Δ), arrays shaped
    and typed like the parameter.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0, -1.0]))
        >>> opt = cr.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward(); opt.step(); w
        Parameter containing:
        tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *,
                 maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "prev": xp.zeros_like(p.array),
                "step_size": xp.full_like(p.array, group["lr"])}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        (etaminus, etaplus), (lo, hi) = group["etas"], group["step_sizes"]
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        factor = xp.multiply(g, prev, out=self._scratch(p))
        xp.sign(factor, out=factor)
        flipped = factor < 0
        xp.copyto(factor, etaplus, where=factor > 0)
        xp.copyto(factor, etaminus, where=flipped)
        xp.copyto(factor, 1.0, where=factor == 0)
        step_size *= factor
        xp.clip(step_size, lo, hi, out=step_size)
        prev[...] = g
        prev[flipped] = 0
        upd = xp.sign(prev, out=self._scratch(p))
        upd *= step_size
        p -= upd
