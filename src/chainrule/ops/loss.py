"""Fused loss primitive: cross entropy on logits.

NOTE: a primitive rather than ``-(q * log_softmax(x)).sum(dim)`` because it is the loss of almost
every classifier: one shifted pass gives a loss that stays finite for logits of ±1e4, and the
backward is the compact (softmax·Σq − q)·g computed straight on arrays, instead of the chain
through log-softmax, mul, sum and mean. ``nn.functional.cross_entropy`` builds the target
distribution ``q`` (one-hot, class weights, label smoothing, ignore_index) around it.
"""

from __future__ import annotations

from chainrule import kernels
from chainrule.autograd import tangents as forward_mode
from chainrule.autograd.function import Op, register
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.fused import LogSoftmax
from chainrule.tensor import Tensor


@register
class CrossEntropy(Op):
    """Cross entropy of logits ``x`` against a target distribution ``q`` (same shape), classes
    along ``dim``:  l = −Σ_c q_c · log_softmax(x)_c  per sample (the class dim is removed), or,
    with ``scale``, the reduced loss  L = scale · Σ_samples l  (0-d; mean and sum reductions).

    With p = softmax(x), s = Σ_c q_c (1 for a probability target) and g the gradient of l
    (for L: g·scale at every sample):
    ∂/∂x = g·(p·s − q),  ∂/∂q = −g·log_softmax(x);
    tangent: −Σ_c (q̇_c·log p_c + q_c·ẋ_c) + s·Σ_c p_c·ẋ_c (summed and scaled for L).
    """

    name = "cross_entropy"
    batch_rule = staticmethod(batching.cross_entropy)
    dim: int
    scale: float | None = None

    def forward(self, x: Array, q: Array) -> Array:
        if x.shape != q.shape:
            raise RuntimeError(f"cross_entropy: logits of shape {tuple(x.shape)} and target "
                               f"distribution of shape {tuple(q.shape)} differ")
        d = self.dim
        if _by_rows(x, q, d):
            out, p = kernels.loss.cross_entropy(x, q)
        else:
            logp = _log_softmax(x, d)
            p = xp.exp(logp)
            with xp.errstate(invalid="ignore"):  # 0·(−inf) for masked logits, handled below
                out = -(q * logp).sum(axis=d)
                if not xp.isfinite(out).all():  # masked (−inf) logits: zero targets add 0
                    out = -xp.where(q == 0, 0, q * logp).sum(axis=d)
        self._saved = p  # for the first plain backward (dropped there)
        if self.scale is not None:
            out = xp.asarray(out.sum() * out.dtype.type(self.scale))
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, q = self.inputs
        need_x, need_q = self.needs_input_grad
        saved = self.__dict__.pop("_saved", None)
        if (saved is not None and not _mode.enabled and not forward_mode.levels
                and type(g) is Tensor):  # (not batched under vmap)
            # Plain backward: straight on arrays, reusing the forward's softmax.
            p = saved
            ga = g.array * g.array.dtype.type(self.scale) if self.scale is not None else \
                xp.expand_dims(g.array, self.dim)
            gx = Tensor._wrap(_logits_grad(p, q.array, ga, self.dim)) if need_x else None
            gq = Tensor._wrap(-_log_softmax(x.array, self.dim) * ga) if need_q else None
            return gx, gq
        # Recorded (create_graph), forward-over-reverse or repeated backward: Tensor ops.
        logp = LogSoftmax.apply(x, dim=self.dim)
        gt = g * self.scale if self.scale is not None else g.unsqueeze(self.dim)
        return (gt * (logp.exp() * q.sum(self.dim, keepdim=True) - q) if need_x else None,
                -(gt * logp) if need_q else None)

    def jvp(self, tx: Tensor | None, tq: Tensor | None) -> Tensor | None:
        x, q = self.inputs
        logp = LogSoftmax.apply(x, dim=self.dim)
        out = None
        if tx is not None:
            out = (logp.exp() * tx).sum(self.dim) * q.sum(self.dim) - (q * tx).sum(self.dim)
        if tq is not None:
            term = -(tq * logp).sum(self.dim)
            out = term if out is None else out + term
        if out is not None and self.scale is not None:
            out = out.sum() * self.scale
        return out


def cross_entropy_logits(x: Tensor, q: Tensor, dim: int = 1,
                         scale: float | None = None) -> Tensor:
    """−Σ q · log_softmax(x) along ``dim`` per sample, or ``scale`` · its sum over samples (the
    fused primitive; see ``CrossEntropy``)."""
    if scale is None:
        return CrossEntropy.apply(x, q, dim=dim % x.ndim)
    return CrossEntropy.apply(x, q, dim=dim % x.ndim, scale=float(scale))


def _by_rows(x: Array, q: Array, dim: int) -> bool:
    """Whether ``kernels.loss`` takes logits-shaped ``x`` and ``q``: classes on their last
    axis (at least one), C-contiguous float arrays the kernels run on."""
    return dim == x.ndim - 1 and x.shape[dim] > 0 and kernels.fits_in_place(x, q)


def _logits_grad(p: Array, q: Array, g: Array, dim: int) -> Array:
    """(p·Σq − q)·g: the logits' gradient from the softmax ``p``, the targets ``q`` (classes
    along ``dim``) and the loss's gradient ``g`` (broadcast: keeps ``dim`` as 1)."""
    if _by_rows(p, q, dim):
        return kernels.loss.cross_entropy_backward(p, q, g)
    gx = p * q.sum(axis=dim, keepdims=True)
    gx -= q
    gx *= g
    return gx


def _log_softmax(x: Array, dim: int) -> Array:
    """log_softmax(x) along ``dim``, shifted by the maximum (finite for logits of ±1e4)."""
    logp = x - x.max(axis=dim, keepdims=True)
    logp -= xp.log(xp.exp(logp).sum(axis=dim, keepdims=True))
    return logp


@register
class BinaryCrossEntropy(Op):
    """Elementwise  l = −[y·max(log x, −100) + (1 − y)·max(log(1 − x), −100)]  for
    probabilities x and targets y.

    NOTE: a primitive rather than the composite over ``log`` and ``clamp`` for stability, as in
    PyTorch: at x = 0 or 1 (a saturated sigmoid) the composite's gradient is 0·∞ = NaN, while
    PyTorch's formula stays finite:
    ∂/∂x = g·(x − y) / max(x·(1 − x), 1e-12),  ∂/∂y = g·(max(log(1 − x), −100) − max(log x, −100));
    tangent: ẋ·(x − y) / max(x·(1 − x), 1e-12) + ẏ·(max(log(1 − x), −100) − max(log x, −100)).
    """

    name = "binary_cross_entropy"

    def forward(self, x: Array, y: Array) -> Array:
        log_x, log_1mx = _clamped_logs(x)
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        nx, ny = self.needs_input_grad
        return (g * self._dx() if nx else None), (g * self._dy() if ny else None)

    def jvp(self, tx: Tensor | None, ty: Tensor | None) -> Tensor | None:
        out = tx * self._dx() if tx is not None else None
        if ty is not None:
            out = ty * self._dy() if out is None else out + ty * self._dy()
        return out

    def _dx(self) -> Tensor:
        x, y = self.inputs
        return (x - y) / (x * (1 - x)).clamp(min=1e-12)

    def _dy(self) -> Tensor:
        x = self.inputs[0]
        with xp.errstate(divide="ignore"):
            return (1 - x).log().clamp(min=-100) - x.log().clamp(min=-100)


def _clamped_logs(x: Array) -> tuple[Array, Array]:
    """(log x, log(1 − x)), each clamped at −100 as in PyTorch (so 0 and 1 stay finite)."""
    with xp.errstate(divide="ignore"):
        return xp.maximum(xp.log(x), -100), xp.maximum(xp.log(1 - x), -100)
