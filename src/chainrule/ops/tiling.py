"""Outputs that repeat their inputs' elements: ``meshgrid`` and ``repeat_interleave``.

Composites: ``meshgrid`` is reshape + expand (the backward sums over the expanded dims) and
``repeat_interleave`` is an ``index_select`` with repeated indices (the backward adds the
copies' gradients).
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import xp
from chainrule.ops.movement import index_select
from chainrule.tensor import Tensor


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (0-D ones count as length 1).

    ``indexing='ij'`` (the default, without PyTorch's warning) gives grids of shape
    (n₁, n₂, …, n_k) in which the i-th varies along dim i; ``'xy'`` swaps the first two dims
    (Cartesian, as NumPy's default).

    Example:
        >>> import chainrule as cr
        >>> x, y = cr.meshgrid(cr.tensor([1, 2]), cr.tensor([3, 4, 5]))
        >>> x.shape, y[0].tolist()
        (chainrule.Size([2, 3]), [3, 4, 5])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-D or 1-D tensors, got shape "
                               f"{tuple(t.shape)} at position {i}")
    flat = [t.reshape(-1) for t in tensors]
    k = len(flat)
    dims = list(range(k))
    if indexing == "xy" and k > 1:
        dims[0], dims[1] = 1, 0
    shape = [0] * k
    for t, d in zip(flat, dims):
        shape[d] = t.shape[0]
    out = []
    for t, d in zip(flat, dims):
        view = [1] * k
        view[d] = -1
        out.append(t.reshape(*view).expand(*shape))
    return tuple(out)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``dim`` (the flattened input when ``dim``
    is None); ``repeats`` is an int or a 1-D tensor with one count per element.
    ``repeat_interleave(counts)`` alone gives ``arange(len(counts))`` repeated by ``counts``.

    Example:
        >>> import chainrule as cr
        >>> cr.repeat_interleave(cr.tensor([1, 2]), 2).tolist()
        [1, 1, 2, 2]
    """
    if repeats is None:
        return repeat_interleave(Tensor._wrap(xp.arange(input.numel())), input, 0)
    if dim is None:
        input, d = input.reshape(-1), 0
    else:
        if not -max(input.ndim, 1) <= dim < max(input.ndim, 1):
            raise IndexError(f"repeat_interleave: dim {dim} is out of range for a tensor of "
                             f"shape {tuple(input.shape)}")
        if input.ndim == 0:
            input = input.reshape(1)
        d = dim % input.ndim
    n = input.shape[d]
    counts = _counts(repeats, n)
    index = xp.repeat(xp.arange(n), counts)
    if output_size is not None and output_size != index.shape[0]:
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"total of repeats {index.shape[0]}")
    return index_select(input, d, Tensor._wrap(index))


def _counts(repeats: Any, n: int) -> Any:
    """``repeats`` as a 1-D int array of length ``n`` (or a scalar), checked."""
    r = repeats.array if isinstance(repeats, Tensor) else xp.asarray(repeats)
    if r.dtype.kind not in "iu" or r.ndim > 1:
        raise RuntimeError(f"repeat_interleave: repeats must be an int or a 1-D integer "
                           f"tensor, got {r.dtype} of shape {tuple(r.shape)}")
    if r.ndim == 1 and r.shape[0] not in (1, n):
        raise RuntimeError(f"repeat_interleave: repeats has {r.shape[0]} entries for a dim of "
                           f"size {n}")
    if (r < 0).any():
        raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {r.tolist()}")
    return r.reshape(()) if r.ndim == 1 and r.shape[0] == 1 else r

