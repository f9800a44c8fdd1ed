"""``movedim`` / ``moveaxis`` and ``narrow``: a permutation and a slice chosen by dimension
(``torch.movedim``, ``torch.narrow``), composed from ``permute`` and indexing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule.ops.movement import getitem
from chainrule.ops.shape import permute
from chainrule.tensor import Tensor


def _dim(op: str, dim: int, ndim: int) -> int:
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{lo}, {hi}],"
                         f" but got {dim})")
    return dim % max(ndim, 1)


def movedim(input: Tensor, source: int | Sequence[int],
            destination: int | Sequence[int]) -> Tensor:
    """Move the dims ``source`` to the positions ``destination``; the others keep their order.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3, 4).movedim(0, -1).shape
        chainrule.Size([3, 4, 2])
    """
    if isinstance(source, int) != isinstance(destination, int):
        raise TypeError(f"movedim: source and destination must both be ints or both sequences "
                        f"of ints, got {source!r} and {destination!r}")
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    n = input.ndim
    src = [_dim("movedim", d, n) for d in src]
    dst = [_dim("movedim", d, n) for d in dst]
    for name, dims in (("source", src), ("destination", dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({dims})")
    if n == 0:  # a 0-D tensor's dim 0 is itself
        return permute(input)
    order: list[int | None] = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    return permute(input, *[next(rest) if o is None else o for o in order])


def moveaxis(input: Tensor, source: int | Sequence[int],
             destination: int | Sequence[int]) -> Tensor:
    """``movedim`` under NumPy's name.

    Example:
        >>> import chainrule as cr
        >>> cr.moveaxis(cr.zeros(2, 3, 4), 0, -1).shape
        chainrule.Size([3, 4, 2])
    """
    return movedim(input, source, destination)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    """The ``length`` entries of dimension ``dim`` from ``start`` (negative counts from the
    end); shares the graph like indexing.

    Example:
        >>> import chainrule as cr
        >>> cr.arange(6).narrow(0, 2, 3)
        tensor([2, 3, 4])
    """
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _dim("narrow", dim, input.ndim)
    size = input.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-size}, "
                         f"{size}], but got {start})")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    start %= size if size else 1
    if start + length > size:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))
