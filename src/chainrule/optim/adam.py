"""The Adam family: ``Adam`` (with AMSGrad), ``AdamW``, ``Adamax``, ``NAdam`` and ``RAdam``.

Each follows the corresponding ``torch.optim`` algorithm step for step; moments are float
arrays like the parameter, updated in place. Adam and AdamW update each parameter in one pass
(``chainrule.kernels.optim``) when the fused kernels are on, as ``torch.optim``'s fused Adam.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import kernels
from chainrule.backend import Array, xp
from chainrule.optim.optimizer import Optimizer, ParamsT, check


def _check_common(lr: float, betas: tuple[float, float], eps: float,
                  weight_decay: float) -> None:
    check(lr >= 0.0, f"Invalid learning rate: {lr}")
    check(eps >= 0.0, f"Invalid epsilon value: {eps}")
    check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")


def _moments(self: Optimizer, p: Array, g: Array, state: dict[str, Any],
             beta1: float, beta2: float) -> None:
    """m ← m + (1 − β₁)(g − m);  v ← β₂·v + (1 − β₂)·g²  (in place)."""
    m, v = state["exp_avg"], state["exp_avg_sq"]
    tmp = xp.subtract(g, m, out=self._scratch(p))
    tmp *= 1.0 - beta1
    m += tmp
    v *= beta2
    tmp = xp.multiply(g, g, out=self._scratch(p))
    tmp *= 1.0 - beta2
    v += tmp


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``): adaptive moments with bias correction.

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
    p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps);  AMSGrad uses the running max of v.
    ``weight_decay`` adds ``weight_decay·p`` to the gradient (L2); see ``AdamW`` for decoupled.

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        betas: decay rates (β₁, β₂) of the first and second moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty (decoupled in ``AdamW``).
        amsgrad: divide by the running maximum of the second moment (Reddi et al. 2018).
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (int), ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq``),
    arrays shaped and typed like the parameter.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0, -1.0]))
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> opt.zero_grad()
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        _check_common(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": xp.zeros_like(p.array),
                 "exp_avg_sq": xp.zeros_like(p.array)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(p.array)
        return state

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        state["step"] += 1
        step = state["step"]
        vmax = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if kernels.fits_in_place(p, m, v, *(() if vmax is None else (vmax,))):
            kernels.optim.adam(p, g, m, v, vmax, lr=lr, beta1=beta1, beta2=beta2,
                               eps=group["eps"], weight_decay=wd, decoupled=self._decoupled,
                               step=step)
            return
        if self._decoupled:
            p *= 1.0 - lr * wd
        else:
            g = self._with_decay(p, g, wd)
        _moments(self, p, g, state, beta1, beta2)
        v = state["exp_avg_sq"]
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = xp.sqrt(v, out=self._scratch(p))
        denom /= math.sqrt(1.0 - beta2**step)
        denom += group["eps"]
        upd = xp.divide(state["exp_avg"], denom, out=denom)
        upd *= -(lr / (1.0 - beta1**step))
        p += upd


class AdamW(Adam):
    """AdamW (``torch.optim.AdamW``): Adam with decoupled weight decay, p ← p·(1 − lr·wd)
    before the Adam step. Default ``weight_decay=1e-2``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.8500], requires_grad=True)
    """

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class Adamax(Optimizer):
    """Adamax (``torch.optim.Adamax``): Adam with the infinity norm.

    m ← β₁m + (1−β₁)g,  u ← max(β₂u, |g| + eps),  p ← p − lr/(1−β₁ᵗ) · m/u.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.Adamax([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, maximize: bool = False) -> None:
        _check_common(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": xp.zeros_like(p.array), "exp_inf": xp.zeros_like(p.array)}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        state["step"] += 1
        g = self._with_decay(p, g, group["weight_decay"])
        m, u = state["exp_avg"], state["exp_inf"]
        tmp = xp.subtract(g, m, out=self._scratch(p))
        tmp *= 1.0 - beta1
        m += tmp
        u *= beta2
        tmp = xp.abs(g, out=self._scratch(p))
        tmp += group["eps"]
        xp.maximum(u, tmp, out=u)
        upd = xp.divide(m, u, out=self._scratch(p))
        upd *= -(lr / (1.0 - beta1 ** state["step"]))
        p += upd


class NAdam(Optimizer):
    """NAdam (``torch.optim.NAdam``): Adam with Nesterov momentum and a momentum schedule.

    μₜ = β₁(1 − ½·0.96^(t·momentum_decay)),  d = √(v/(1−β₂ᵗ)) + eps,
    p ← p − lr(1−μₜ)/(1−Πμ) · g/d − lr·μₜ₊₁/(1−Πμ·μₜ₊₁) · m/d.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.NAdam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.8944], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        _check_common(lr, betas, eps, weight_decay)
        check(momentum_decay >= 0.0, f"Invalid momentum_decay value: {momentum_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "mu_product": 1.0, "exp_avg": xp.zeros_like(p.array),
                "exp_avg_sq": xp.zeros_like(p.array)}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        state["step"] += 1
        step, md = state["step"], group["momentum_decay"]
        if group["decoupled_weight_decay"]:
            p *= 1.0 - lr * wd
        else:
            g = self._with_decay(p, g, wd)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * md))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * md))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        _moments(self, p, g, state, beta1, beta2)
        denom = xp.divide(state["exp_avg_sq"], 1.0 - beta2**step, out=self._scratch(p, 3))
        xp.sqrt(denom, out=denom)
        denom += group["eps"]
        upd = xp.divide(g, denom, out=self._scratch(p))
        upd *= -lr * (1.0 - mu) / (1.0 - mu_product)
        p += upd
        upd = xp.divide(state["exp_avg"], denom, out=self._scratch(p))
        upd *= -lr * mu_next / (1.0 - mu_product * mu_next)
        p += upd


class RAdam(Optimizer):
    """RAdam (``torch.optim.RAdam``): Adam with a rectified variance (Liu et al. 2020).

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  m̂ = m/(1−β₁ᵗ),
    ρ∞ = 2/(1−β₂) − 1,  ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ);
    if ρₜ > 5:  r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ)),
    p ← p − lr·m̂·√(1−β₂ᵗ)/(√v + eps)·r;  else (early steps) p ← p − lr·m̂ (SGD with momentum).

    Args:
        params: tensors to optimize, or parameter-group dicts.
        lr: learning rate.
        betas: decay rates (β₁, β₂) of the first and second moment estimates.
        eps: added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient, or with ``decoupled_weight_decay``
            p ← p·(1 − lr·weight_decay) before the step (as in AdamW).
        decoupled_weight_decay: decay the weights directly instead of the gradient.
        maximize: ascend the objective instead of descending.

    State per parameter: ``step`` (int), ``exp_avg``, ``exp_avg_sq``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.tensor([1.0]))
        >>> opt = cr.optim.RAdam([w], lr=0.1)
        >>> (w ** 2).sum().backward()
        >>> opt.step()
        >>> w
        Parameter containing:
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        _check_common(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": xp.zeros_like(p.array), "exp_avg_sq": xp.zeros_like(p.array)}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        state["step"] += 1
        step = state["step"]
        if wd and group["decoupled_weight_decay"]:
            p *= 1.0 - lr * wd
        else:
            g = self._with_decay(p, g, wd)
        _moments(self, p, g, state, beta1, beta2)
        bias_correction1, bias_correction2 = 1.0 - beta1**step, 1.0 - beta2**step
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * step * beta2**step / bias_correction2
        upd = xp.divide(state["exp_avg"], bias_correction1, out=self._scratch(p))
        upd *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = xp.sqrt(state["exp_avg_sq"], out=self._scratch(p, 3))
            adaptive += group["eps"]
            xp.divide(bias_correction2**0.5, adaptive, out=adaptive)
            upd *= adaptive
            upd *= rect
        p -= upd
