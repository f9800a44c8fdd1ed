"""NumPy-style joining and splitting: hstack, vstack, dstack, column_stack, the atleast_Nd
reshapes, broadcast_tensors, tensor_split and hsplit/vsplit/dsplit, composed from ``cat``,
``split``, ``reshape`` and ``expand`` (gradients come with them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.backend import xp
from chainrule.ops.movement import cat, split
from chainrule.ops.shape import normalize_dims
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


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Split along ``dim`` into n nearly equal parts (the first n mod size ones one longer) or
    at the listed indices (``numpy.array_split``).

    Example:
        >>> import chainrule as cr
        >>> [t.tolist() for t in cr.tensor_split(cr.arange(5), 3)]
        [[0, 1], [2, 3], [4]]
        >>> [t.tolist() for t in cr.tensor_split(cr.arange(5), [1, 4])]
        [[0], [1, 2, 3], [4]]
    """
    if input.ndim == 0:
        raise RuntimeError("tensor_split: expected at least a 1-dimensional tensor")
    d = normalize_dims(dim, input.ndim, "tensor_split")[0]
    n = input.shape[d]
    sections = indices_or_sections
    if isinstance(sections, Tensor):
        sections = sections.tolist()
    if isinstance(sections, int):
        if sections <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got "
                               f"{sections}")
        q, r = divmod(n, sections)
        sizes = [q + 1] * r + [q] * (sections - r)
    else:
        cuts = [min(max(int(i) if i >= 0 else n + int(i), 0), n) for i in sections]
        bounds = [0, *cuts, n]
        sizes = [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
        starts = bounds[:-1]
        lead = (slice(None),) * d
        return tuple(input[lead + (slice(a, a + s),)] for a, s in zip(starts, sizes))
    return split(input, sizes, d)


def _numpy_split(name: str, dim: int, least: int) -> Any:
    def fn(input: Tensor, indices_or_sections: Any) -> tuple[Tensor, ...]:
        if input.ndim < least:
            raise RuntimeError(f"{name} requires a tensor with at least {least} dimension, "
                               f"but got a tensor with {input.ndim} dimensions")
        d = 0 if name == "hsplit" and input.ndim == 1 else dim
        if isinstance(indices_or_sections, int) and input.shape[d] % indices_or_sections:
            raise RuntimeError(f"{name} attempted to split along dimension {d}, but the size "
                               f"of the dimension {input.shape[d]} is not divisible by the "
                               f"split_size {indices_or_sections}!")
        return tensor_split(input, indices_or_sections, d)

    fn.__name__ = fn.__qualname__ = name
    return fn


hsplit = _numpy_split("hsplit", 1, 1)
hsplit.__doc__ = """Split along dim 1 (dim 0 of a 1-D tensor) into equal parts or at indices.

    Example:
        >>> import chainrule as cr
        >>> [t.shape for t in cr.hsplit(cr.ones(2, 4), 2)]
        [chainrule.Size([2, 2]), chainrule.Size([2, 2])]
    """
vsplit = _numpy_split("vsplit", 0, 2)
vsplit.__doc__ = """Split along dim 0 of a tensor of at least 2 dims.

    Example:
        >>> import chainrule as cr
        >>> [t.shape for t in cr.vsplit(cr.ones(4, 2), [1])]
        [chainrule.Size([1, 2]), chainrule.Size([3, 2])]
    """
dsplit = _numpy_split("dsplit", 2, 3)
dsplit.__doc__ = """Split along dim 2 of a tensor of at least 3 dims.

    Example:
        >>> import chainrule as cr
        >>> [t.shape for t in cr.dsplit(cr.ones(1, 1, 4), 2)]
        [chainrule.Size([1, 1, 2]), chainrule.Size([1, 1, 2])]
    """
