"""Shape ops: the same elements under a new shape (reshape, expand) or in a new order (permute,
flip, roll), and the functions built on them: view, flatten/unflatten, squeeze/unsqueeze,
transpose, t, expand_as, broadcast_to, repeat, tile."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.unary import clone
from chainrule.tensor import Tensor

Dim = int | tuple[int, ...] | list[int] | None


def normalize_dims(dim: Dim, ndim: int, op: str) -> tuple[int, ...]:
    """``dim`` as a sorted tuple of non-negative axes, checked against ``ndim``."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    rank = builtins.max(ndim, 1)
    out = []
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(
                f"{op}: dimension {d} is out of range for a tensor with {ndim} dimensions"
            )
        out.append(d % rank if ndim else 0)
    return tuple(sorted(set(out)))


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


@register
class Reshape(Op):
    """x with a new shape, same elements.  ∂/∂x = g reshaped back."""

    name = "reshape"
    batch_rule = staticmethod(batching.prepend_size("shape"))
    saves_inputs = False
    shape: tuple[int, ...]

    def forward(self, x: Array) -> Array:
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape '{list(self.shape)}' is invalid for input of shape "
                f"{tuple(x.shape)} (size {x.size})"
            ) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (Reshape.apply(g, shape=self.inputs[0].shape),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Reshape.apply(t, shape=self.shape)


@register
class Permute(Op):
    """x with its axes reordered.  ∂/∂x = g with the inverse order."""

    name = "permute"
    batch_rule = staticmethod(batching.permute)
    saves_inputs = False
    dims: tuple[int, ...]

    def forward(self, x: Array) -> Array:
        return x.transpose(self.dims)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        inverse = tuple(sorted(range(len(self.dims)), key=self.dims.__getitem__))
        return (Permute.apply(g, dims=inverse),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Permute.apply(t, dims=self.dims)


@register
class Expand(Op):
    """x broadcast to ``shape`` (a view).  ∂/∂x = g summed over the broadcast axes."""

    name = "expand"
    batch_rule = staticmethod(batching.prepend_size("shape"))
    saves_inputs = False
    shape: tuple[int, ...]

    def forward(self, x: Array) -> Array:
        try:
            return xp.broadcast_to(x, self.shape)
        except ValueError:
            raise RuntimeError(
                f"expand: the shape {tuple(x.shape)} cannot be broadcast to {self.shape}"
            ) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Expand.apply(t, shape=self.shape)


@register
class Flip(Op):
    """x reversed along ``dims``.  ∂/∂x = g reversed along the same dims."""

    name = "flip"
    batch_rule = staticmethod(batching.shifted("dims"))
    saves_inputs = False
    dims: tuple[int, ...]

    def forward(self, x: Array) -> Array:
        return xp.flip(x, self.dims)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (Flip.apply(g, dims=self.dims),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Flip.apply(t, dims=self.dims)


@register
class Roll(Op):
    """x rolled by ``shifts`` along ``dims``.  ∂/∂x = g rolled back."""

    name = "roll"
    batch_rule = staticmethod(batching.roll)
    saves_inputs = False
    shifts: tuple[int, ...]
    dims: tuple[int, ...] | None

    def forward(self, x: Array) -> Array:
        return xp.roll(x, self.shifts, self.dims)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        back = tuple(-s for s in self.shifts)
        return (Roll.apply(g, shifts=back, dims=self.dims),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Roll.apply(t, shifts=self.shifts, dims=self.dims)


# ---- public functions -------------------------------------------------------------------------
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dim may be -1).

    Example:
        >>> import chainrule as cr
        >>> cr.reshape(cr.arange(6), (2, 3))
        tensor([[0, 1, 2],
                [3, 4, 5]])
    """
    shape = _shape_arg(shape)
    if shape == input.shape:
        return input
    if shape.count(-1) > 1:
        raise RuntimeError(f"reshape: only one dimension can be inferred, got {list(shape)}")
    if -1 in shape:
        known = 1
        for s in shape:
            known *= s if s != -1 else 1
        size = input.numel()  # (not the array's: a batched tensor's array holds the batch)
        if known == 0 or size % known:
            raise RuntimeError(f"reshape: shape '{list(shape)}' is invalid for input of shape "
                               f"{tuple(input.shape)} (size {size})")
        shape = tuple(size // known if s == -1 else s for s in shape)
    return Reshape.apply(input, shape=shape)


def view(input: Tensor, *shape: Any) -> Tensor:
    """The same memory in a new shape: refused, as in PyTorch, when the tensor's layout (after
    ``t()``, ``permute``, a strided slice) would need a copy, so writes always reach the
    original; ``reshape`` copies when it must."""
    out = reshape(input, *shape)
    if out is not input and not input._physical().flags.c_contiguous and input.numel() > 1:
        try:  # (the arrays' shapes: a batched tensor's array holds the whole batch)
            xp.reshape(input._physical(), out._physical().shape, copy=False)
        except ValueError:
            raise RuntimeError(
                f"view: view size {list(out.shape)} is not compatible with input tensor's size "
                f"{list(input.shape)} and stride (at least one dimension spans across two "
                "contiguous subspaces). Use .reshape(...) instead."
            ) from None
    return out


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim``..``end_dim`` into one.

    Example:
        >>> import chainrule as cr
        >>> cr.flatten(cr.zeros(2, 3, 4), start_dim=1).shape
        chainrule.Size([2, 12])
    """
    if input.ndim == 0:
        normalize_dims((start_dim, end_dim), 0, "flatten")
        return reshape(input, 1)
    s, e = (normalize_dims(d, input.ndim, "flatten")[0] for d in (start_dim, end_dim))
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                           f"tensor of shape {tuple(input.shape)}")
    return reshape(input, *input.shape[:s], -1, *input.shape[e + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes``.

    Example:
        >>> import chainrule as cr
        >>> cr.unflatten(cr.zeros(2, 12), 1, (3, 4)).shape
        chainrule.Size([2, 3, 4])
    """
    d = normalize_dims(dim, input.ndim, "unflatten")[0]
    return reshape(input, *input.shape[:d], *sizes, *input.shape[d + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim``).

    Example:
        >>> import chainrule as cr
        >>> cr.squeeze(cr.zeros(2, 1, 3, 1)).shape
        chainrule.Size([2, 3])
        >>> cr.squeeze(cr.zeros(2, 1, 3, 1), 1).shape
        chainrule.Size([2, 3, 1])
    """
    if dim is None:
        return reshape(input, *[n for n in input.shape if n != 1])
    dims = normalize_dims(dim, input.ndim, "squeeze")
    return reshape(input, *[n for i, n in enumerate(input.shape) if not (i in dims and n == 1)])


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.unsqueeze(cr.tensor([1, 2]), 0)
        tensor([[1, 2]])
    """
    d = normalize_dims(dim, input.ndim + 1, "unsqueeze")[0]
    return reshape(input, *input.shape[:d], 1, *input.shape[d:])


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims.

    Example:
        >>> import chainrule as cr
        >>> cr.permute(cr.zeros(2, 3, 4), (2, 0, 1)).shape
        chainrule.Size([4, 2, 3])
    """
    dims = tuple(d % input.ndim for d in _shape_arg(dims)) if input.ndim else ()
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of {input.ndim} dims")
    return input if dims == tuple(range(input.ndim)) else Permute.apply(input, dims=dims)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims.

    Example:
        >>> import chainrule as cr
        >>> cr.transpose(cr.tensor([[1, 2, 3]]), 0, 1)
        tensor([[1],
                [2],
                [3]])
    """
    d0, d1 = (normalize_dims(d, input.ndim, "transpose")[0] for d in (dim0, dim1))
    if input.ndim < 2:
        return input
    dims = list(range(input.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(input, *dims)


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose of a ≤ 2-D tensor (a 0-D or 1-D one as it is, as in PyTorch)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, -1)


def expand(input: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` without copying (-1 keeps a dim)."""
    shape = _shape_arg(shape)
    lead = len(shape) - input.ndim
    have = input.shape
    shape = tuple(have[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return input if shape == have else Expand.apply(input, shape=shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """``input`` broadcast to ``shape``.

    Example:
        >>> import chainrule as cr
        >>> cr.broadcast_to(cr.tensor([1, 2, 3]), (2, 3))
        tensor([[1, 2, 3],
                [1, 2, 3]])
    """
    return expand(input, tuple(shape))


def repeat(input: Tensor, *repeats: Any) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along dim i (PyTorch's ``repeat``).

    Example:
        >>> import chainrule as cr
        >>> cr.repeat(cr.tensor([1, 2]), 2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    reps = _shape_arg(repeats)
    if len(reps) < input.ndim:
        raise RuntimeError("repeat: number of repeats can not be smaller than number of dims")
    x = reshape(input, *((1,) * (len(reps) - input.ndim) + input.shape))
    inter = tuple(v for n in x.shape for v in (1, n))
    big = tuple(v for r, n in zip(reps, x.shape) for v in (r, n))
    return reshape(expand(reshape(x, inter), big), *[r * n for r, n in zip(reps, x.shape)])


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Like ``repeat``, padding ``dims`` with ones on the left when short.

    Example:
        >>> import chainrule as cr
        >>> cr.tile(cr.tensor([1, 2]), (2, 2))
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


def flip(input: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``.

    Example:
        >>> import chainrule as cr
        >>> cr.flip(cr.tensor([[1, 2], [3, 4]]), dims=[1])
        tensor([[2, 1],
                [4, 3]])
    """
    return Flip.apply(input, dims=normalize_dims(dims, input.ndim, "flip"))


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (left–right).

    Example:
        >>> import chainrule as cr
        >>> cr.fliplr(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([[2., 1.],
                [4., 3.]])
    """
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (up–down).

    Example:
        >>> import chainrule as cr
        >>> cr.flipud(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([[3., 4.],
                [1., 2.]])
    """
    return flip(input, (0,))


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90° ``k`` times in the plane of ``dims``, from the first toward the second.

    Example:
        >>> import chainrule as cr
        >>> cr.rot90(cr.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor([[2., 4.],
                [1., 3.]])
    """
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    a, b = (normalize_dims(d, input.ndim, "rot90")[0] for d in dims)
    if a == b:
        raise RuntimeError(f"rot90: expected rotation dims to be different, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return transpose(flip(input, (b,)), a, b)
    if k == 2:
        return flip(input, (a, b))
    if k == 3:
        return flip(transpose(input, a, b), (b,))
    return clone(input)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically along ``dims`` (flattened when ``dims`` is None).

    Example:
        >>> import chainrule as cr
        >>> cr.roll(cr.tensor([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
    """
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = None if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
    return Roll.apply(input, shifts=shifts, dims=dims)


def contiguous(input: Tensor) -> Tensor:
    """``input`` if its data is C-contiguous, else a contiguous copy (which stays in the
    graph)."""
    return input if input._physical().flags.c_contiguous else clone(input)


def is_contiguous(input: Tensor) -> bool:
    """Whether the data is laid out C-contiguously (as after ``contiguous()``)."""
    return bool(input._physical().flags.c_contiguous)
