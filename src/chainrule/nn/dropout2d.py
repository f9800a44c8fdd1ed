"""Channel dropout: ``dropout2d`` and ``Dropout2d`` zero whole feature maps (Tompson et al.,
2015), since neighbouring pixels of a map are correlated and element dropout barely
regularises them."""

from __future__ import annotations

import warnings

from chainrule import random as _random
from chainrule.nn.module import Module
from chainrule.random import Generator
from chainrule.tensor import Tensor


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: Generator | None = None) -> Tensor:
    """Zero each channel of (N, C, H, W) (or unbatched (C, H, W)) with probability ``p`` and
    scale the kept ones by 1/(1 − p); the identity when not ``training``
    (``torch.nn.functional.dropout2d``). The mask comes from the global generator.

    Example:
        >>> import chainrule as cr
        >>> import chainrule.nn.functional as F
        >>> y = F.dropout2d(cr.ones(1, 8, 2, 2), p=0.5)
        >>> sorted(set(y.sum((2, 3)).flatten().tolist())) in ([0.0, 8.0], [0.0], [8.0])
        True
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    if input.ndim in (3, 4):
        mask_shape = input.shape[:-2] + (1, 1)  # one draw per (sample, channel)
    else:  # PyTorch's feature dropout: one draw per entry of the first two dims
        mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    return input * Tensor._wrap(_random.dropout_mask(mask_shape, p, input.dtype, generator))


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
        return dropout2d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
