"""Padding layers over ``F.pad``: ``ConstantPad1d``/``2d``/``3d``, ``ZeroPad1d``/``2d``/``3d``,
and the modes that copy input values: ``ReflectionPad``, ``ReplicationPad`` and ``CircularPad``
(``1d``/``2d``/``3d``).
"""

from __future__ import annotations

from collections.abc import Sequence

from chainrule.nn import functional as F
from chainrule.nn.modules.module import Module
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

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ConstantPad2d((1, 0, 0, 1), 9.0)(cr.tensor([[[[1.0]]]]))
        tensor([[[[9., 1.],
                  [9., 9.]]]])
    """

    _n = 2


class ZeroPad1d(ConstantPad1d):
    """``ConstantPad1d`` with zeros: ``padding`` is (left, right), or one int for both.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ZeroPad1d((1, 2))(cr.tensor([[[1.0, 2.0]]]))
        tensor([[[0., 1., 2., 0., 0.]]])
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """``ConstantPad2d`` with zeros: ``padding`` is (left, right, top, bottom), or one int for
    all four.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ZeroPad2d(1)(cr.ones(1, 1, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4])
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``: ``padding`` is (left, right, top, bottom,
    front, back), or one int for all six.

    Shape:
        (*, D, H, W) → (*, D + front + back, H + top + bottom, W + left + right).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ConstantPad3d(1, 0.0)(cr.ones(1, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """

    _n = 3


class ZeroPad3d(ConstantPad3d):
    """``ConstantPad3d`` with zeros.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ZeroPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CopyPadNd(_ConstantPadNd):
    """Padding by ``F.pad`` in ``mode``: the last ``_n`` dims of a tensor with one or two more
    (unbatched or batched)."""

    mode = "reflect"

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_CopyPadNd):
    """Mirror the last dim about its edges (the edge itself not repeated); each width less
    than the dim's size.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReflectionPad1d(2)(cr.arange(3.0).reshape(1, 1, 3)).tolist()
        [[[2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]]]
    """

    _n = 1


class ReflectionPad2d(_CopyPadNd):
    """Mirror the last two dims; ``padding`` is (left, right, top, bottom) or one int.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReflectionPad2d((1, 1, 0, 0))(cr.tensor([[[[1.0, 2.0, 3.0]]]]))
        tensor([[[[2., 1., 2., 3., 2.]]]])
    """

    _n = 2


class ReflectionPad3d(_CopyPadNd):
    """Mirror the last three dims; ``padding`` is (left, right, top, bottom, front, back).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReflectionPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """

    _n = 3


class ReplicationPad1d(_CopyPadNd):
    """Repeat the edge values of the last dim.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReplicationPad1d((1, 2))(cr.arange(3.0).reshape(1, 1, 3)).tolist()
        [[[0.0, 0.0, 1.0, 2.0, 2.0, 2.0]]]
    """

    _n = 1
    mode = "replicate"


class ReplicationPad2d(_CopyPadNd):
    """Repeat the edge values of the last two dims; ``padding`` as for ``ReflectionPad2d``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReplicationPad2d((2, 0, 0, 0))(cr.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[1., 1., 1., 2.]]]])
    """

    _n = 2
    mode = "replicate"


class ReplicationPad3d(_CopyPadNd):
    """Repeat the edge values of the last three dims.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.ReplicationPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """

    _n = 3
    mode = "replicate"


class CircularPad1d(_CopyPadNd):
    """Wrap the last dim around (periodic padding); each width at most the dim's size.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.CircularPad1d(1)(cr.arange(3.0).reshape(1, 1, 3)).tolist()
        [[[2.0, 0.0, 1.0, 2.0, 0.0]]]
    """

    _n = 1
    mode = "circular"


class CircularPad2d(_CopyPadNd):
    """Wrap the last two dims around; ``padding`` as for ``ReflectionPad2d``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.CircularPad2d(1)(cr.tensor([[[[1.0, 2.0]]]]))
        tensor([[[[2., 1., 2., 1.],
                  [2., 1., 2., 1.],
                  [2., 1., 2., 1.]]]])
    """

    _n = 2
    mode = "circular"


class CircularPad3d(_CopyPadNd):
    """Wrap the last three dims around.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.CircularPad3d(1)(cr.ones(1, 1, 2, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4, 4])
    """

    _n = 3
    mode = "circular"
