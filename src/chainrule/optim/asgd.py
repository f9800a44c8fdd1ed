"""ASGD: stochastic gradient descent with a decaying rate and Polyak-Ruppert averaging."""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


class ASGD(Optimizer):
    """Averaged SGD (``torch.optim.ASGD``, Polyak & Juditsky 1992), step for step.

    With g = ∇ (+ weight_decay·p), at step t (from 1), using the η and μ of the previous step
    (η₀ = lr, μ₀ = 1):
    p ← p·(1 − λη) − η·g;  ax ← ax + μ(p − ax) (ax ← p while μ = 1);
    then η ← lr / (1 + λ·lr·t)^α and μ ← 1 / max(1, t − t0).
    The parameters follow plain (decayed) SGD; the running average ``ax`` (in the state, not
    copied into the parameters) starts averaging after ``t0`` steps.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        lambd: decay term λ (of both the weights and the rate).
        alpha: power α of the rate decay.
        t0: the step at which averaging starts.
        weight_decay: L2 penalty added to the gradient.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (int), ``eta`` and ``mu`` (Python floats, float64; PyTorch
    keeps them as default-dtype scalars, so under its float32 default they are rounded to
    float32) and ``ax``, an array shaped and typed like the parameter.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.ASGD([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0, *,
                 maximize: bool = False) -> None:
        check(lr >= 0.0, f"Invalid learning rate: {lr}")
        check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0,
                                      weight_decay=weight_decay, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "eta": float(group["lr"]), "mu": 1.0, "ax": xp.zeros_like(p.array)}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, lambd = group["lr"], group["lambd"]
        state["step"] += 1
        step, eta, mu = state["step"], state["eta"], state["mu"]
        g = self._with_decay(p, g, group["weight_decay"])
        p *= 1.0 - lambd * eta
        upd = xp.multiply(g, eta, out=self._scratch(p))
        p -= upd
        ax = state["ax"]
        if mu != 1:
            diff = xp.subtract(p, ax, out=self._scratch(p))
            diff *= mu
            ax += diff
        else:
            ax[...] = p
        state["eta"] = lr / ((1 + lambd * lr * step) ** group["alpha"])
        state["mu"] = 1 / max(1, step - group["t0"])
