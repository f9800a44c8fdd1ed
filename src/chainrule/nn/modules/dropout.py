"""``Dropout``: inverted dropout, active only in training mode."""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the survivors by 1/(1 − p) while
    training (so no rescaling is needed at test time); the identity after ``eval()``.

    The mask is drawn from the global generator (``chainrule.manual_seed`` makes it
    reproducible). With ``inplace=True`` the result is written into the input, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> drop = cr.nn.Dropout(0.5).eval()
        >>> drop(cr.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Module):
    """Zero whole channels of (N, C, H, W) with probability ``p`` while training, scaling the
    others by 1/(1 − p); the identity after ``eval()``.

    Example:
        >>> Dropout2d(0.5)
        Dropout2d(p=0.5, inplace=False)
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout2d):
    """Zero whole channels of (N, C, L) with probability ``p`` while training, scaling the
    others by 1/(1 − p); the identity after ``eval()``.

    Example:
        >>> Dropout1d(0.2)
        Dropout1d(p=0.2, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(Dropout2d):
    """Zero whole channels of (N, C, D, H, W) with probability ``p`` while training, scaling
    the others by 1/(1 − p); the identity after ``eval()``.

    Example:
        >>> Dropout3d(0.2)
        Dropout3d(p=0.2, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)
