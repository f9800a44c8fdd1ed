"""Fused loss primitive: cross entropy on logits.

NOTE: a primitive rather than ``-(q * log_softmax(x)).sum(dim)`` because it is the loss of almost
every classifier: one shifted pass gives a loss that stays finite for logits of ±1e4, and the
backward is the compact (softmax·Σq − q)·g, one array instead of the chain through log-softmax,
mul and sum. ``nn.functional.cross_entropy`` builds the target distribution ``q`` (one-hot,
class weights, label smoothing, ignore_index) and the reduction around it.
"""

from __future__ import annotations

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.fused import LogSoftmax
from chainrule.tensor import Tensor


@register
class CrossEntropy(Op):
    """Per-sample cross entropy of logits ``x`` against a target distribution ``q`` (same shape),
    classes along ``dim``:  l = −Σ_c q_c · log_softmax(x)_c  (the class dim is removed).

    With p = softmax(x) and s = Σ_c q_c (1 for a probability target):
    ∂/∂x = g·(p·s − q),  ∂/∂q = −g·log_softmax(x);
    tangent: −Σ_c (q̇_c·log p_c + q_c·ẋ_c) + s·Σ_c p_c·ẋ_c.
    """

    name = "cross_entropy"
    dim: int

    def forward(self, x: Array, q: Array) -> Array:
        if x.shape != q.shape:
            raise RuntimeError(f"cross_entropy: logits of shape {tuple(x.shape)} and target "
                               f"distribution of shape {tuple(q.shape)} differ")
        logp = x - x.max(axis=self.dim, keepdims=True)
        logp -= xp.log(xp.exp(logp).sum(axis=self.dim, keepdims=True))
        self._logp = logp  # reused by backward (freed with the node)
        with xp.errstate(invalid="ignore"):  # 0·(−inf) for masked logits, handled below
            out = -(q * logp).sum(axis=self.dim)
            if not xp.isfinite(out).all():  # masked (−inf) logits: zero targets add 0, not NaN
                out = -xp.where(q == 0, 0, q * logp).sum(axis=self.dim)
        return out

    def _log_probs(self) -> Tensor:
        # The forward's log-probabilities serve the first plain backward (then are dropped, so a
        # kept loss tensor does not pin them); otherwise they are re-derived, differentiably.
        logp = self.__dict__.pop("_logp", None)
        if logp is None or _grad_recorded():
            return LogSoftmax.apply(self.inputs[0], dim=self.dim)
        return Tensor._wrap(logp)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, q = self.inputs
        logp = self._log_probs()
        g = g.unsqueeze(self.dim)
        gx = gq = None
        if self.needs_input_grad[0]:
            gx = g * (logp.exp() * q.sum(self.dim, keepdim=True) - q)
        if self.needs_input_grad[1]:
            gq = -(g * logp)
        return gx, gq

    def jvp(self, tx: Tensor | None, tq: Tensor | None) -> Tensor | None:
        x, q = self.inputs
        logp = LogSoftmax.apply(x, dim=self.dim)
        out = None
        if tx is not None:
            out = (logp.exp() * tx).sum(self.dim) * q.sum(self.dim) - (q * tx).sum(self.dim)
        if tq is not None:
            term = -(tq * logp).sum(self.dim)
            out = term if out is None else out + term
        return out


def _grad_recorded() -> bool:
    from chainrule.autograd import forward_ad
    from chainrule.autograd.grad_mode import _mode

    return _mode.enabled or bool(forward_ad.levels)  # forward mode needs logp's tangents too


def cross_entropy_logits(x: Tensor, q: Tensor, dim: int = 1) -> Tensor:
    """−Σ q · log_softmax(x) along ``dim`` (the fused primitive; see ``CrossEntropy``)."""
    return CrossEntropy.apply(x, q, dim=dim % x.ndim)
