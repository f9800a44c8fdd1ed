"""NumPy-style joining: hstack, vstack, dstack, column_stack, the atleast_Nd reshapes and
broadcast_tensors, composed from ``cat``, ``reshape`` and ``expand`` (gradients come with
them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


def _atleast(tensors: tuple[Any, ...], shape_of: Any) -> Any:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = tuple(t if t.ndim >= len(shape_of(()))
                else t.reshape(shape_of(tuple(t.shape))) for t in tensors)
    return out[0] if len(out) == 1 else out


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least one dim (a 0-d tensor becomes shape (1,)); one tensor in,
    one out, else a tuple.

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_1d(cr.tensor(3.0))
        tensor([3.])
    """
    return _atleast(tensors, lambda s: (1,) if not s else s)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least two dims: () → (1, 1), (n,) → (1, n).

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_2d(cr.tensor([1.0, 2.0])).shape
        chainrule.Size([1, 2])
    """
    return _atleast(tensors, lambda s: (1,) * (2 - len(s)) + s if len(s) < 2 else (1, 1))


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least three dims: () → (1, 1, 1), (n,) → (1, n, 1),
    (m, n) → (m, n, 1).

    Example:
        >>> import chainrule as cr
        >>> cr.atleast_3d(cr.ones(2, 3)).shape
        chainrule.Size([2, 3, 1])
    """
    def shape_of(s: tuple[int, ...]) -> tuple[int, ...]:
        return {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), (1, 1, 1))

    return _atleast(tensors, shape_of)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along dim 1, or along dim 0 for 1-D tensors.

    Example:
        >>> import chainrule as cr
        >>> cr.hstack([cr.ones(2, 1), cr.zeros(2, 2)])
        tensor([[1., 0., 0.],
                [1., 0., 0.]])
    """
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along dim 0, 1-D tensors as rows.

    Example:
        >>> import chainrule as cr
        >>> cr.vstack([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
        tensor([[1., 2.],
                [3., 4.]])
    """
    return cat([atleast_2d(t) for t in tensors], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along dim 2 (depth), after ``atleast_3d``.

    Example:
        >>> import chainrule as cr
        >>> cr.dstack([cr.ones(2, 2), cr.zeros(2, 2)]).shape
        chainrule.Size([2, 2, 2])
    """
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Join along dim 1, 0-d and 1-D tensors as columns.

    Example:
        >>> import chainrule as cr
        >>> cr.column_stack([cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0])])
        tensor([[1., 3.],
                [2., 4.]])
    """
    return cat([t.reshape(-1, 1) if t.ndim < 2 else t for t in tensors], 1)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape.

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.broadcast_tensors(cr.ones(2, 1), cr.zeros(3))
        >>> a.shape, b.shape
        (chainrule.Size([2, 3]), chainrule.Size([2, 3]))
    """
    shape = xp.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t.expand(*shape) for t in tensors)
