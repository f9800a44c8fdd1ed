"""Movement and indexing ops: reshape, permute, expand, indexing (with a scatter-add backward in
which duplicate indices accumulate), cat, pad, flip, roll, gather/scatter, and composites."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.reduce import normalize_dims
from chainrule.tensor import Tensor, tensor_method


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


@register
class Reshape(Op):
    """x with a new shape, same elements.  ∂/∂x = g reshaped back."""

    name = "reshape"
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
class GetItem(Op):
    """x[index] (basic and advanced indexing).  ∂/∂x = g scattered back with duplicates summed."""

    name = "getitem"
    saves_inputs = False
    index: Any

    def forward(self, x: Array) -> Array:
        try:
            out = x[self.index]
        except IndexError as e:
            raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None
        return out if isinstance(out, xp.ndarray) else xp.asarray(out)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (IndexAdd.apply(g, shape=self.inputs[0].shape, index=self.index),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return GetItem.apply(t, index=self.index)


@register
class IndexAdd(Op):
    """zeros(shape) with ``g`` added at ``index`` (duplicates accumulate); ∂/∂g = grad[index]."""

    name = "index_add"
    saves_inputs = False
    shape: tuple[int, ...]
    index: Any

    def forward(self, g: Array) -> Array:
        out = xp.zeros(self.shape, g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        else:
            xp.add.at(out, self.index, g)
        return out

    def backward(self, gg: Tensor) -> tuple[Tensor | None, ...]:
        return (GetItem.apply(gg, index=self.index),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return IndexAdd.apply(t, shape=self.shape, index=self.index)


@register
class IndexPut(Op):
    """x with ``x[index] = v``.  ∂/∂x = g zeroed at index, ∂/∂v = g[index]."""

    name = "index_put"
    saves_inputs = False
    index: Any

    def forward(self, x: Array, v: Array) -> Array:
        out = x.copy()
        out[self.index] = v
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        nx, nv = self.needs_input_grad
        zero = Tensor._wrap(xp.zeros((), g.dtype))
        return (IndexPut.apply(g, zero, index=self.index) if nx else None,
                GetItem.apply(g, index=self.index) if nv else None)

    def jvp(self, tx: Tensor | None, tv: Tensor | None) -> Tensor | None:
        x, v = self.inputs
        tx = tx if tx is not None else x * 0
        tv = tv if tv is not None else Tensor._wrap(xp.zeros((), x.dtype))
        return IndexPut.apply(tx, tv, index=self.index)


def _is_basic(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return not builtins.any(isinstance(i, xp.ndarray) for i in items)


def normalize_index(index: Any) -> Any:
    """An index with tensors and lists turned into arrays, ready for NumPy."""
    if isinstance(index, tuple):
        return tuple(normalize_index(i) for i in index)
    if isinstance(index, Tensor):
        if index.dtype.kind not in "biu":
            raise IndexError(f"index: tensors used as indices must be long or bool, "
                             f"got {index.dtype}")
        return index.data
    if isinstance(index, list):
        return xp.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


@register
class Cat(Op):
    """Concatenation along ``dim``.  ∂/∂xᵢ = the slice of g that xᵢ occupies."""

    name = "cat"
    saves_inputs = False
    dim: int

    def forward(self, *xs: Array) -> Array:
        try:
            return xp.concatenate(xs, axis=self.dim)
        except ValueError:
            shapes = ", ".join(str(tuple(x.shape)) for x in xs)
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {self.dim}; got shapes "
                f"{shapes}"
            ) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        grads: list[Tensor | None] = []
        start = 0
        lead = (slice(None),) * self.dim
        for x, need in zip(self.inputs, self.needs_input_grad):
            stop = start + x.shape[self.dim]
            grads.append(GetItem.apply(g, index=(*lead, slice(start, stop))) if need else None)
            start = stop
        return tuple(grads)

    def jvp(self, *ts: Tensor | None) -> Tensor | None:
        filled = [t if t is not None else x * 0 for t, x in zip(ts, self.inputs)]
        return Cat.apply(*filled, dim=self.dim)


@register
class Pad(Op):
    """x padded with a constant; ``widths`` is NumPy's ((before, after), ...).  ∂/∂x = g cropped."""

    name = "pad"
    saves_inputs = False
    widths: tuple[tuple[int, int], ...]
    value: float

    def forward(self, x: Array) -> Array:
        return xp.pad(x, self.widths, constant_values=self.value)

    def _crop(self) -> tuple[slice, ...]:
        return tuple(slice(b, n + b) for (b, _), n in zip(self.widths, self.inputs[0].shape))

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (GetItem.apply(g, index=self._crop()),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Pad.apply(t, widths=self.widths, value=0.0)


@register
class Flip(Op):
    """x reversed along ``dims``.  ∂/∂x = g reversed along the same dims."""

    name = "flip"
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


def _along(index: Array, dim: int) -> tuple[Array, ...]:
    """Full coordinate arrays selecting ``index`` along ``dim`` (for gather/scatter)."""
    grids = list(xp.indices(index.shape, sparse=True))
    grids[dim] = index
    return tuple(grids)


@register
class Gather(Op):
    """out[..., j, ...] = x[..., index[..., j, ...], ...] along ``dim``.
    ∂/∂x = g scatter-added at ``index``."""

    name = "gather"
    saves_inputs = False
    dim: int

    def forward(self, x: Array, index: Array) -> Array:
        if index.ndim != x.ndim:
            raise RuntimeError(f"gather: index has {index.ndim} dims but input has {x.ndim}")
        return x[_along(index, self.dim)]

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, index = self.inputs
        zeros = Tensor._wrap(xp.zeros(x.shape, g.dtype))
        return ScatterAdd.apply(zeros, index, g, dim=self.dim), None

    def jvp(self, t: Tensor | None, _: Tensor | None) -> Tensor | None:
        return Gather.apply(t, self.inputs[1], dim=self.dim)


@register
class ScatterAdd(Op):
    """x with ``src`` added at ``index`` along ``dim`` (duplicates accumulate).
    ∂/∂x = g, ∂/∂src = g gathered at ``index``."""

    name = "scatter_add"
    saves_inputs = False
    dim: int

    def forward(self, x: Array, index: Array, src: Array) -> Array:
        out = x.copy()
        xp.add.at(out, _along(index, self.dim), src[tuple(slice(0, n) for n in index.shape)])
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        _, index, src = self.inputs
        gsrc = Gather.apply(g, index, dim=self.dim) if self.needs_input_grad[2] else None
        if gsrc is not None and gsrc.shape != src.shape:
            gsrc = Pad.apply(gsrc, widths=tuple((0, s - n) for s, n in zip(src.shape, gsrc.shape)),
                             value=0.0)
        return g, None, gsrc

    def jvp(self, tx: Tensor | None, _: Tensor | None, ts: Tensor | None) -> Tensor | None:
        x, index, _src = self.inputs
        base = tx if tx is not None else x * 0
        return base if ts is None else ScatterAdd.apply(base, index, ts, dim=self.dim)


# ---- public functions -------------------------------------------------------------------------
@tensor_method
def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape (one dim may be -1)."""
    shape = _shape_arg(shape)
    if shape == input.shape:
        return input
    if shape.count(-1) > 1:
        raise RuntimeError(f"reshape: only one dimension can be inferred, got {list(shape)}")
    if -1 in shape:
        known = 1
        for s in shape:
            known *= s if s != -1 else 1
        if known == 0 or input.data.size % known:
            raise RuntimeError(f"reshape: shape '{list(shape)}' is invalid for input of shape "
                               f"{tuple(input.shape)} (size {input.data.size})")
        shape = tuple(input.data.size // known if s == -1 else s for s in shape)
    return Reshape.apply(input, shape=shape)


@tensor_method
def view(input: Tensor, *shape: Any) -> Tensor:
    """``reshape`` (chainrule tensors are always contiguous, so every view is allowed)."""
    return reshape(input, *shape)


@tensor_method
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim``..``end_dim`` into one."""
    if input.ndim == 0:
        return reshape(input, 1)
    s, e = start_dim % input.ndim, end_dim % input.ndim
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                           f"tensor of shape {tuple(input.shape)}")
    return reshape(input, *input.shape[:s], -1, *input.shape[e + 1:])


@tensor_method
def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes``."""
    d = dim % input.ndim
    return reshape(input, *input.shape[:d], *sizes, *input.shape[d + 1:])


@tensor_method
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Drop size-1 dims (all of them, or those in ``dim``)."""
    if dim is None:
        return reshape(input, *[n for n in input.shape if n != 1])
    dims = normalize_dims(dim, input.ndim, "squeeze")
    return reshape(input, *[n for i, n in enumerate(input.shape) if not (i in dims and n == 1)])


@tensor_method
def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    d = dim % (input.ndim + 1)
    return reshape(input, *input.shape[:d], 1, *input.shape[d:])


@tensor_method
def permute(input: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims."""
    dims = tuple(d % input.ndim for d in _shape_arg(dims)) if input.ndim else ()
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(f"permute: dims {dims} are not a permutation of {input.ndim} dims")
    return input if dims == tuple(range(input.ndim)) else Permute.apply(input, dims=dims)


@tensor_method
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    if input.ndim < 2:
        return input
    dims = list(range(input.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return permute(input, *dims)


swapaxes = transpose


@tensor_method
def t(input: Tensor) -> Tensor:
    """Transpose of a ≤ 2-D tensor."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1)


@tensor_method
def expand(input: Tensor, *shape: Any) -> Tensor:
    """Broadcast to ``shape`` without copying (-1 keeps a dim)."""
    shape = _shape_arg(shape)
    lead = len(shape) - input.ndim
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    return input if shape == input.shape else Expand.apply(input, shape=shape)


@tensor_method
def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    """``input`` broadcast to ``shape``."""
    return expand(input, tuple(shape))


tensor_method(broadcast_to)


@tensor_method
def repeat(input: Tensor, *repeats: Any) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along dim i (PyTorch's ``repeat``)."""
    reps = _shape_arg(repeats)
    if len(reps) < input.ndim:
        raise RuntimeError("repeat: number of repeats can not be smaller than number of dims")
    x = reshape(input, *((1,) * (len(reps) - input.ndim) + input.shape))
    inter = tuple(v for n in x.shape for v in (1, n))
    big = tuple(v for r, n in zip(reps, x.shape) for v in (r, n))
    return reshape(expand(reshape(x, inter), big), *[r * n for r, n in zip(reps, x.shape)])


@tensor_method
def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Like ``repeat``, padding ``dims`` with ones on the left when short."""
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)


@tensor_method
def flip(input: Tensor, dims: Any) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    return Flip.apply(input, dims=normalize_dims(dims, input.ndim, "flip"))


@tensor_method
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift elements cyclically along ``dims`` (flattened when ``dims`` is None)."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = None if dims is None else ((dims,) if isinstance(dims, int) else tuple(dims))
    return Roll.apply(input, shifts=shifts, dims=dims)


def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``."""
    return GetItem.apply(input, index=normalize_index(index))


def index_put(input: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of ``input`` with ``input[index] = value``."""
    if not isinstance(value, Tensor):
        value = Tensor._wrap(xp.asarray(value, input.dtype))
    return IndexPut.apply(input, value, index=normalize_index(index))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    ndim = tensors[0].ndim
    for i, x in enumerate(tensors):
        if x.ndim != ndim:
            raise RuntimeError(f"cat: tensor 0 has {ndim} dims but tensor {i} has {x.ndim} "
                               f"(shapes {tensors[0].shape} and {x.shape})")
    return Cat.apply(*tensors, dim=normalize_dims(dim, ndim, "cat")[0])


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got "
                               f"{tensors[0].shape} at entry 0 and {x.shape} at entry {i}")
    d = dim % (tensors[0].ndim + 1)
    return cat([unsqueeze(x, d) for x in tensors], d)


@tensor_method
def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of size ``split_size`` (the last may be smaller) or of the listed sizes."""
    d = dim % input.ndim
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(f"split: sizes {sizes} do not add up to dim {dim}'s size {n}")
    out, start = [], 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(input[(*lead, slice(start, start + s))])
        start += s
    return tuple(out)


@tensor_method
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of (nearly) equal size."""
    n = input.shape[dim % input.ndim]
    return split(input, -(-n // chunks), dim)


@tensor_method
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, with the dim removed."""
    lead = (slice(None),) * (dim % input.ndim)
    return tuple(input[(*lead, i)] for i in range(input.shape[dim]))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with a constant; ``pad`` lists (before, after) pairs from the last dim backwards,
    as in ``torch.nn.functional.pad``."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} (only 'constant' is supported)")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} does not fit a tensor of shape "
                         f"{input.shape}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if builtins.any(b < 0 or a < 0 for b, a in pairs):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    return Pad.apply(input, widths=tuple(pairs), value=value)


@tensor_method
def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (same number of dims)."""
    return Gather.apply(input, index, dim=dim % input.ndim)


@tensor_method
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``."""
    return ScatterAdd.apply(input, index, src, dim=dim % input.ndim)


@tensor_method
def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` along ``dim`` listed by the 1-D ``index``."""
    lead = (slice(None),) * (dim % input.ndim)
    return input[(*lead, index)]


@tensor_method
def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere."""
    from chainrule.ops.elementwise import where

    return where(mask, value, input)


@tensor_method
def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims; the rest zeroed."""
    keep = xp.tri(*input.shape[-2:], k=diagonal, dtype=bool)
    return input * Tensor._wrap(keep.astype(input.dtype))


@tensor_method
def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims; the rest zeroed."""
    keep = ~xp.tri(*input.shape[-2:], k=diagonal - 1, dtype=bool)
    return input * Tensor._wrap(keep.astype(input.dtype))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot int64 vectors in a new last dim."""
    idx = tensor.data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer tensor, got {tensor.dtype}")
    n = int(idx.max()) + 1 if num_classes < 0 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n}), got "
                           f"[{idx.min()}, {idx.max()}]")
    return Tensor._wrap((idx[..., None] == xp.arange(n)).astype(xp.int64))
