"""Shape layers: ``Flatten`` and ``Unflatten``."""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.nn.modules.module import Module
from chainrule.tensor import Tensor


class Flatten(Module):
    """Flatten dims ``start_dim``..``end_dim`` into one (by default all but the batch dim).

    Shape:
        (N, *dims) → (N, ∏ dims) with the defaults.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Flatten()(cr.zeros(2, 3, 4)).shape
        chainrule.Size([2, 12])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be −1).

    Shape:
        (*, S, *) → (*, *unflattened_size, *) where ∏ unflattened_size = S.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Unflatten(1, (2, 3))(cr.zeros(4, 6)).shape
        chainrule.Size([4, 2, 3])
    """

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
