"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``), step for step.

    s ← s + g²,  p ← p − lr/(1 + (t−1)·lr_decay) · g/(√s + eps);  s starts at
    ``initial_accumulator_value``.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        lr_decay: the rate is lr / (1 + (t − 1)·lr_decay) at step t.
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the sum of squares.
        eps: added to the denominator for numerical stability.
        maximize: ascend the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.Adagrad([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check(initial_accumulator_value >= 0.0,
              f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0,
                "sum": xp.full_like(p.array, group["initial_accumulator_value"])}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] += 1
        g = self._with_decay(p, g, group["weight_decay"])
        clr = group["lr"] / (1.0 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        tmp = xp.multiply(g, g, out=self._scratch(p))
        s += tmp
        std = xp.sqrt(s, out=self._scratch(p, 3))
        std += group["eps"]
        tmp = xp.divide(g, std, out=self._scratch(p))
        tmp *= clr
        p -= tmp
