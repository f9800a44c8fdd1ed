"""Tensor's shape and placement queries (``shape``, ``size()``, ``nelement()``, ``is_cuda``,
``is_cpu``) and the formatting of 0-d tensors in format strings, bound onto ``Tensor``.

``shape`` is read by layers and ops on every call, so it hands out cached ``Size`` objects
built without the checks of ``Size(...)``.
"""

from __future__ import annotations

from typing import Any

from chainrule.size import Size
from chainrule.tensor import Tensor

_new_size = tuple.__new__
_SIZES: dict[tuple[int, ...], Size] = {}
"""``Size`` objects by shape: immutable, so shared (a lookup is cheaper than a new one)."""


def _shape(self: Tensor) -> Size:
    """The sizes of the dimensions, a ``chainrule.Size``."""
    shape = self.array.shape
    size = _SIZES.get(shape)
    if size is None:
        if len(_SIZES) > 4096:
            _SIZES.clear()
        size = _SIZES[shape] = _new_size(Size, shape)
    return size


def size(self: Tensor, dim: int | None = None) -> Any:
    """The shape as a ``chainrule.Size``, or the size of dimension ``dim``."""
    if dim is None:
        return _shape(self)
    try:
        return self.array.shape[dim]
    except (IndexError, TypeError):
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-self.array.ndim}, {self.array.ndim - 1}], but got {dim})") from None


def nelement(self: Tensor) -> int:
    """The number of elements (``numel``)."""
    return int(self.array.size)


def _is_cuda(self: Tensor) -> bool:
    """False: chainrule tensors live on the CPU."""
    return False


def _is_cpu(self: Tensor) -> bool:
    """True: chainrule tensors live on the CPU."""
    return True


def __format__(self: Tensor, format_spec: str) -> str:
    """A 0-d tensor formats as its Python number (``f"{loss:.4f}"``); any other tensor takes
    only the empty format spec (``TypeError`` otherwise), as in PyTorch."""
    if self.array.ndim == 0 and type(self) is Tensor:
        return self.array.item().__format__(format_spec)
    return object.__format__(self, format_spec)


Tensor.shape = property(_shape)  # type: ignore[assignment]
Tensor.size = size  # type: ignore[method-assign]
Tensor.nelement = nelement  # type: ignore[attr-defined]
Tensor.is_cuda = property(_is_cuda)  # type: ignore[attr-defined]
Tensor.is_cpu = property(_is_cpu)  # type: ignore[attr-defined]
Tensor.__format__ = __format__  # type: ignore[method-assign]
