"""Optimizer updates as one pass over each parameter: Adam/AdamW (with AMSGrad) and SGD (with
momentum, dampening, Nesterov and weight decay), as ``torch.optim``'s fused updates.

The NumPy forms in ``chainrule.optim`` read and write each state array several times per step;
these kernels read every element of the parameter, its gradient and its state once and write
them once. The optimizers call them where ``kernels.fits_in_place`` says the arrays suit them,
and run their NumPy forms otherwise.

The kernels store a state value (Adam's moments, SGD's momentum) smaller in magnitude than the
dtype's smallest normal number as 0. NOTE: a unit whose gradient is 0 (a dead ReLU) has its
first moment shrink by β₁ each step until it is subnormal, where rounding holds it for good
(0.9 × the smallest subnormal rounds back to it), and the CPU takes a slow microcode path for
it on every step. On the worksheet ConvNet 40% of Adam's first moment was subnormal after 800
steps, and the update ran 6× slower. Such a value moves its parameter by less than 10⁻³⁰ of
the learning rate, so storing 0 changes no result beyond float tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from chainrule.kernels.approx import kernel

__all__ = ["adam", "sgd"]


def _flat(g: Any, p: Any) -> Any:
    """``g`` as a flat array of ``p``'s dtype (a view when it is contiguous)."""
    return np.ascontiguousarray(g, dtype=p.dtype).reshape(-1)


def adam(p: Any, g: Any, m: Any, v: Any, vmax: Any | None, *, lr: float, beta1: float,
         beta2: float, eps: float, weight_decay: float, decoupled: bool, step: int) -> None:
    """One Adam (``decoupled=False``) or AdamW step of ``p`` in place, as ``torch.optim.Adam``:
    m ← m + (1−β₁)(g − m), v ← β₂v + (1−β₂)g², v̂ = max(v̂, v) with AMSGrad (``vmax``),
    p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + eps); weight decay adds wd·p to g, or with
    ``decoupled`` scales p by 1 − lr·wd first; subnormal m and v are stored as 0."""
    t = p.dtype.type
    decay, l2 = (1.0 - lr * weight_decay, 0.0) if decoupled else (1.0, weight_decay)
    amsgrad = vmax is not None
    _adam(p.reshape(-1), _flat(g, p), m.reshape(-1), v.reshape(-1),
          (vmax if amsgrad else v).reshape(-1), t(decay), t(l2), t(1.0 - beta1), t(beta2),
          t(1.0 - beta2), amsgrad, t(math.sqrt(1.0 - beta2**step)), t(eps),
          t(lr / (1.0 - beta1**step)), np.finfo(p.dtype).tiny)


@kernel
def _adam(p, g, m, v, vmax, decay, l2, c1, beta2, c2, amsgrad, bc2_sqrt, eps,  # type: ignore[no-untyped-def]
          step_size, tiny):
    for i in range(p.size):
        pi = p[i] * decay
        gi = g[i] + l2 * pi
        mi = m[i] + (gi - m[i]) * c1
        vi = v[i] * beta2 + (gi * gi) * c2
        # (NaN kept; x - x, not a zero constant: with one, LLVM does not vectorise the loop)
        mi = mi if math.fabs(mi) >= tiny or mi != mi else mi - mi
        vi = vi if vi >= tiny or vi != vi else vi - vi
        m[i] = mi
        v[i] = vi
        if amsgrad:
            if vmax[i] > vi:
                vi = vmax[i]
            vmax[i] = vi
        p[i] = pi - step_size * (mi / (math.sqrt(vi) / bc2_sqrt + eps))


def sgd(p: Any, g: Any, buf: Any | None, first: bool, *, lr: float, momentum: float,
        dampening: float, weight_decay: float, nesterov: bool) -> None:
    """One SGD step of ``p`` in place, as ``torch.optim.SGD``: g ← g + wd·p; with momentum
    (``buf``, set to g on the ``first`` step) b ← μb + (1 − dampening)g, stored as 0 when
    subnormal, and the step uses g + μb (Nesterov) or b; p ← p − lr·g."""
    t = p.dtype.type
    has_buf = buf is not None
    _sgd(p.reshape(-1), _flat(g, p), (buf if has_buf else p).reshape(-1), has_buf, first,
         t(weight_decay), t(momentum), t(1.0 - dampening), nesterov, t(lr),
         np.finfo(p.dtype).tiny)


@kernel
def _sgd(p, g, buf, has_buf, first, wd, momentum, damp, nesterov, lr, tiny):  # type: ignore[no-untyped-def]
    for i in range(p.size):
        gi = g[i] + wd * p[i]
        if has_buf:
            b = gi if first else buf[i] * momentum + damp * gi
            b = b if math.fabs(b) >= tiny or b != b else b - b
            buf[i] = b
            gi = gi + momentum * b if nesterov else b
        p[i] = p[i] - lr * gi
