"""RMSprop: scale the gradient by a running root-mean-square of past gradients."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``), step for step.

    s ← αs + (1−α)g²;  centered: ḡ ← αḡ + (1−α)g, d = √(s − ḡ²) + eps, else d = √s + eps;
    momentum: b ← μb + g/d, p ← p − lr·b;  otherwise p ← p − lr·g/d.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor μ.
        centered: normalise by the estimated variance of the gradient instead of its raw
            second moment.
        maximize: ascend the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.RMSprop([w], lr=0.01)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        check(alpha >= 0.0, f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "square_avg": xp.zeros_like(p.array)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(p.array)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(p.array)
        return state

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha = group["alpha"]
        state["step"] += 1
        g = self._with_decay(p, g, group["weight_decay"])
        s = state["square_avg"]
        s *= alpha
        tmp = xp.multiply(g, g, out=self._scratch(p))
        tmp *= 1.0 - alpha
        s += tmp
        avg = self._scratch(p, 3)
        if group["centered"]:
            ga = state["grad_avg"]
            tmp = xp.subtract(g, ga, out=self._scratch(p))
            tmp *= 1.0 - alpha
            ga += tmp
            xp.multiply(ga, ga, out=avg)
            xp.subtract(s, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(s, out=avg)
        avg += group["eps"]
        tmp = xp.divide(g, avg, out=self._scratch(p))
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += tmp
            tmp = xp.multiply(buf, group["lr"], out=self._scratch(p))
        else:
            tmp *= group["lr"]
        p -= tmp
