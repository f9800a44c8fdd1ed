"""Loss modules (``torch.nn.MSELoss`` ...): hold the options, call ``chainrule.nn.functional``."""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, (*F._REDUCTIONS, "batchmean"))
        self.reduction = reduction


class _WeightedLoss(_Loss):
    """A loss with per-class ``weight``, kept as a buffer (in ``state_dict``, as in PyTorch)."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class _PlainLoss(_Loss):
    def __init__(self, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)


class MSELoss(_PlainLoss):
    """Mean squared error: (x − y)², reduced. Input and target of the same shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MSELoss()(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 4.0]))
        tensor(2.5000)
        >>> cr.nn.MSELoss(reduction="sum")(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 4.0]))
        tensor(5.)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_PlainLoss):
    """Mean absolute error: |x − y|, reduced.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.L1Loss()(cr.tensor([1.0, 2.0]), cr.tensor([2.0, 0.0]))
        tensor(1.5000)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear above (see ``functional.huber_loss``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.HuberLoss(delta=1.0)(cr.tensor([0.0, 0.0]), cr.tensor([0.5, 3.0]))
        tensor(1.3125)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(_Loss):
    """Huber loss divided by ``beta`` (see ``functional.smooth_l1_loss``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.SmoothL1Loss(beta=1.0)(cr.tensor([0.0, 0.0]), cr.tensor([0.5, 3.0]))
        tensor(1.3125)
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy of logits (N, C[, d1...]) against class indices or probabilities, with
    ``weight``, ``ignore_index`` and ``label_smoothing`` (see ``functional.cross_entropy``).

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.CrossEntropyLoss()(cr.zeros(2, 4), cr.tensor([0, 3]))
        >>> round(loss.item(), 4)  # ln 4
        1.3863
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (see ``functional.nll_loss``).

    Example:
        >>> import chainrule as cr
        >>> logp = cr.log_softmax(cr.tensor([[2.0, 0.0], [0.0, 2.0]]), dim=1)
        >>> cr.nn.NLLLoss()(logp, cr.tensor([0, 1]))
        tensor(0.1269)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities in [0, 1] (see ``functional.binary_cross_entropy``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.BCELoss()(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 0.0]))
        tensor(0.6931)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy(input, target, weight=self.weight,
                                      reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one stable expression, with ``pos_weight``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.BCEWithLogitsLoss(pos_weight=cr.tensor([2.0]))
        >>> loss(cr.tensor([0.0]), cr.tensor([1.0]))
        tensor(1.3863)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class HingeEmbeddingLoss(_Loss):
    """x for y = 1, max(0, margin − x) for y = −1.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.HingeEmbeddingLoss()(cr.tensor([0.3, 2.0]), cr.tensor([1, -1]))
        tensor(0.1500)
    """

    def __init__(self, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.hinge_embedding_loss(input, target, margin=self.margin,
                                      reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (see ``functional.multi_margin_loss``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MultiMarginLoss()(cr.tensor([[0.1, 0.2, 0.4, 0.8]]), cr.tensor([3]))
        tensor(0.3250)
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                 size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p}")
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence for log-probability inputs; use ``reduction='batchmean'`` for the true
    KL value (see ``functional.kl_div``).

    Example:
        >>> import chainrule as cr
        >>> p = cr.tensor([[0.25, 0.75]])
        >>> cr.nn.KLDivLoss(reduction="batchmean")(p.log(), p)
        tensor(0.)
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class MarginRankingLoss(_Loss):
    """max(0, −y·(x1 − x2) + margin) (see ``functional.margin_ranking_loss``).

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.MarginRankingLoss(margin=0.5)
        >>> loss(cr.tensor([1.0, 1.0]), cr.tensor([0.0, 2.0]), cr.tensor([1.0, 1.0]))
        tensor(0.7500)
    """

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                      reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) for y = 1, max(0, cos(x1, x2) − margin) for y = −1.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.CosineEmbeddingLoss()
        >>> loss(cr.tensor([[1.0, 0.0]]), cr.tensor([[0.0, 1.0]]), cr.tensor([1]))
        tensor(1.)
    """

    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                        reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) − d(a, n) + margin) with the p-norm distance (see
    ``functional.triplet_margin_loss``).

    Example:
        >>> import chainrule as cr
        >>> a, p, n = cr.tensor([[0.0, 0.0]]), cr.tensor([[0.0, 1.0]]), cr.tensor([[0.0, 3.0]])
        >>> cr.nn.TripletMarginLoss(margin=1.0)(a, n, p)
        tensor(3.)
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                      eps=self.eps, swap=self.swap, reduction=self.reduction)


class SoftMarginLoss(_PlainLoss):
    """log(1 + exp(−y·x)) for ±1 labels (two-class logistic loss).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.SoftMarginLoss()(cr.tensor([0.0, 0.0]), cr.tensor([1.0, -1.0]))
        tensor(0.6931)
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Multi-label one-versus-all logistic loss, averaged over the C classes (see
    ``functional.multilabel_soft_margin_loss``); ``weight`` (C,) is a buffer.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MultiLabelSoftMarginLoss()(cr.tensor([[0.0, 0.0]]), cr.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """

    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                              reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of targets under predicted means and variances (see
    ``functional.gaussian_nll_loss``); ``forward(input, target, var)``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.nn.GaussianNLLLoss()
        >>> loss(cr.tensor([0.0, 0.0]), cr.tensor([1.0, 1.0]), cr.tensor([1.0, 1.0]))
        tensor(0.5000)
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                    reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood of counts (see ``functional.poisson_nll_loss``).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.PoissonNLLLoss()(cr.tensor([0.0, 0.0]), cr.tensor([1.0, 2.0]))
        tensor(1.)
    """

    def __init__(self, log_input: bool = True, full: bool = False, size_average: Any = None,
                 eps: float = 1e-8, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                   eps=self.eps, reduction=self.reduction)
