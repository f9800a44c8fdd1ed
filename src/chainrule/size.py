"""``chainrule.Size``: the type of ``Tensor.shape`` and ``Tensor.size()``, a tuple of ints
(``torch.Size``)."""

from __future__ import annotations

import math
from typing import Any


class Size(tuple):  # type: ignore[type-arg]
    """A tensor's shape: a tuple of ints that prints as ``chainrule.Size([2, 3])``.

    Slicing or adding to it gives a ``Size`` again; it compares equal to the plain tuple.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3).shape
        chainrule.Size([2, 3])
        >>> cr.zeros(2, 3).shape.numel()
        6
    """

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:
        sizes = tuple(sizes)
        for s in sizes:
            if not isinstance(s, int) and not hasattr(s, "__index__"):
                raise TypeError(f"Size(): expected a sequence of ints, but got element of type "
                                f"{type(s).__name__}")
        return tuple.__new__(cls, [s.__index__() for s in sizes])

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return tuple.__new__(Size, item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(self, other))

    def __radd__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(other, self))

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Size, (tuple(self),)

