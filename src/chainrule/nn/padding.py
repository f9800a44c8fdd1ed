"""Padding layers over ``F.pad``: ``ConstantPad1d``/``2d`` and ``ZeroPad1d``/``2d``.

(Reflection and replication padding are not here: ``F.pad`` supports only ``mode='constant'``.)
"""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class _ConstantPadNd(Module):
    _n = 0  # padded trailing dims

    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__()
        name, width = type(self).__name__, 2 * self._n
        if isinstance(padding, int):
            padding = (padding,) * width
        padding = tuple(int(p) for p in padding)
        if len(padding) != width:
            raise ValueError(f"{name}: padding must be an int or a {width}-tuple, got {padding}")
        self.padding: tuple[int, ...] = padding
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``: ``padding`` is (left, right), or one int for both.

    Shape:
        (*, W) → (*, W + left + right).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ConstantPad1d((1, 2), 3.5)(cr.zeros(1, 2))
        tensor([[3.5000, 0.0000, 0.0000, 3.5000, 3.5000]])
    """

    _n = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``: ``padding`` is (left, right, top, bottom), or one
    int for all four.

    Shape:
        (*, H, W) → (*, H + top + bottom, W + left + right).
    """

    _n = 2


class ZeroPad1d(ConstantPad1d):
    """``ConstantPad1d`` with zeros: ``padding`` is (left, right), or one int for both."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """``ConstantPad2d`` with zeros: ``padding`` is (left, right, top, bottom), or one int for
    all four."""

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"
