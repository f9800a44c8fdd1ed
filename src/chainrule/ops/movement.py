"""Movement and indexing ops: indexing and index assignment (with a scatter-add backward in which
duplicate indices accumulate), gather/scatter_add along a dim, cat/stack/split, pad, and
composites (index_select, masked_fill, tril/triu, one_hot). Reshaping and reordering ops (reshape,
permute, expand, flip, roll, ...) live in ``shape.py``."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from chainrule import kernels
from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops import batching
from chainrule.ops.elementwise import where
from chainrule.ops.padding import crop, pad_by_copying
from chainrule.ops.shape import normalize_dims, unsqueeze
from chainrule.tensor import Tensor


@register
class GetItem(Op):
    """x[index] (basic and advanced indexing).  ∂/∂x = g scattered back with duplicates summed."""

    name = "getitem"
    batch_rule = staticmethod(batching.getitem)
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

    def slice_of_input(self) -> Any:
        return self.index if _is_basic(self.index) else None


@register
class IndexAdd(Op):
    """zeros(shape) with ``g`` added at ``index`` (duplicates accumulate); ∂/∂g = grad[index]."""

    name = "index_add"
    batch_rule = staticmethod(batching.index_add)
    saves_inputs = False
    shape: tuple[int, ...]
    index: Any

    def forward(self, g: Array) -> Array:
        out = xp.zeros(self.shape, g.dtype)
        if _is_basic(self.index):
            out[self.index] = g
        elif isinstance(self.index, xp.ndarray) and self.index.dtype.kind in "iu" and out.ndim:
            _add_rows(out, self.index, g)
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
    batch_rule = staticmethod(batching.index_put)
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


def _add_rows(out: Array, rows: Array, g: Array) -> None:
    """out[rows[i]] += g[i] for integer ``rows`` along the first axis, duplicates summed (the
    embedding gradient).

    NOTE: ``add.at`` is unbuffered and element by element (2.3 ms for 2,048 rows of 128 float32);
    sorting the rows and summing each run with ``add.reduceat`` takes 0.35 ms, and a compiled
    loop (``kernels.scatter``) less again. The sums are the same up to float rounding (each
    adds in its own order).
    """
    n = out.shape[0]
    flat = rows.reshape(-1)
    flat = xp.where(flat < 0, flat + n, flat)
    if not flat.size:
        return
    lo, hi = flat.min(), flat.max()
    if lo < 0 or hi >= n:
        bad = lo - n if lo < 0 else hi
        raise IndexError(f"index_add: index {bad} is out of bounds for axis 0 with size {n}")
    g = g.reshape(flat.size, *out.shape[1:])
    if kernels.fits(out, g):
        kernels.scatter.add_rows(out, flat, xp.ascontiguousarray(g))
        return
    order = xp.argsort(flat, kind="stable")
    srt = flat[order]
    starts = xp.flatnonzero(xp.concatenate(([True], srt[1:] != srt[:-1])))
    out[srt[starts]] = xp.add.reduceat(g[order], starts, axis=0)


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
        if index._physical().ndim != index.ndim:  # batched inside vmap: its batching rule
            return index                               # takes it per sample
        return index.array
    if isinstance(index, list):
        return xp.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


@register
class Cat(Op):
    """Concatenation along ``dim``.  ∂/∂xᵢ = the slice of g that xᵢ occupies."""

    name = "cat"
    batch_rule = staticmethod(batching.cat)
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
    batch_rule = staticmethod(batching.pad)
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
    batch_rule = staticmethod(batching.gather)
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
    batch_rule = staticmethod(batching.gather)
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
def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``."""
    return GetItem.apply(input, index=normalize_index(index))


def index_put(input: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of ``input`` with ``input[index] = value``."""
    if not isinstance(value, Tensor):
        value = Tensor._wrap(xp.asarray(value, input.dtype))
    return IndexPut.apply(input, value, index=normalize_index(index))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along an existing dim.

    Example:
        >>> import chainrule as cr
        >>> cr.cat([cr.zeros(1, 2), cr.ones(2, 2)]).shape
        chainrule.Size([3, 2])

    Example:
        >>> import chainrule as cr
        >>> cr.concat([cr.tensor([1, 2]), cr.tensor([3])])
        tensor([1, 2, 3])
    """
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
    """Join along a new dim.

    Example:
        >>> import chainrule as cr
        >>> cr.stack([cr.tensor([1, 2]), cr.tensor([3, 4])], dim=1)
        tensor([[1, 3],
                [2, 4]])
    """
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if x.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(x.shape)} at "
                               f"entry {i}")
    d = dim % (tensors[0].ndim + 1)
    return cat([unsqueeze(x, d) for x in tensors], d)


def split(input: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Pieces of size ``split_size`` (the last may be smaller) or of the listed sizes.

    Example:
        >>> import chainrule as cr
        >>> [s.tolist() for s in cr.split(cr.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
        >>> [s.tolist() for s in cr.split(cr.arange(5), [1, 4])]
        [[0], [1, 2, 3, 4]]
    """
    if input.ndim == 0:
        raise RuntimeError("split: expected at least a 1-dimensional tensor")
    d = normalize_dims(dim, input.ndim, "split")[0]
    n = input.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size < 0 or (size == 0 and n):
            raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, but got "
                               f"split_size={size} for dim {dim} of size {n}")
        if size == 0:
            return (input,)
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


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """``chunks`` pieces of (nearly) equal size.

    Example:
        >>> import chainrule as cr
        >>> [c.tolist() for c in cr.chunk(cr.arange(5), 3)]
        [[0, 1], [2, 3], [4]]
    """
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be greater than 0, got {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk: expected at least a 1-dimensional tensor")
    n = input.shape[normalize_dims(dim, input.ndim, "chunk")[0]]
    if n == 0:  # PyTorch: ``chunks`` empty pieces
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, with the dim removed.

    Example:
        >>> import chainrule as cr
        >>> cr.unbind(cr.tensor([[1, 2], [3, 4]]))
        (tensor([1, 2]), tensor([3, 4]))
    """
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    d = normalize_dims(dim, input.ndim, "unbind")[0]
    lead = (slice(None),) * d
    return tuple(input[(*lead, i)] for i in range(input.shape[d]))


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad ``input``; ``pad`` lists (before, after) pairs from the last dim backwards, as in
    ``torch.nn.functional.pad``.

    Modes: 'constant' (``value``, default 0), 'reflect' (mirror without repeating the edge),
    'replicate' (repeat the edge), 'circular' (wrap around). The last three pad the last 1, 2
    or 3 dims of a tensor with one or two more dims (batch and channel), each side by less
    than the dim's size for 'reflect' and at most its size for 'circular'. A negative width
    crops. Gradients sum over every output position an input element was copied to.

    Example:
        >>> import chainrule as cr
        >>> x = cr.arange(3.0).reshape(1, 3)
        >>> cr.nn.functional.pad(x, (2, 1), mode="reflect").tolist()
        [[2.0, 1.0, 0.0, 1.0, 2.0, 1.0]]
        >>> cr.nn.functional.pad(x, (1, 1), mode="circular").tolist()
        [[2.0, 0.0, 1.0, 2.0, 0.0]]
    """
    if mode != "constant":
        return pad_by_copying(input, tuple(int(p) for p in pad), mode)
    value = 0.0 if value is None else value
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} does not fit a tensor of shape "
                         f"{input.shape}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pairs[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if builtins.any(b < 0 or a < 0 for b, a in pairs):  # negative widths crop
        input, pairs = crop(input, pairs)
    return Pad.apply(input, widths=tuple(pairs), value=value)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` along ``dim`` at ``index`` (same number of dims).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1, 2], [3, 4]])
        >>> cr.gather(x, 1, cr.tensor([[0, 0], [1, 0]]))
        tensor([[1, 1],
                [4, 3]])
    """
    return Gather.apply(input, index, dim=normalize_dims(dim, input.ndim, "gather")[0])


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.scatter_add(cr.zeros(3), 0, cr.tensor([0, 2, 0]), cr.tensor([1.0, 2.0, 3.0]))
        tensor([4., 0., 2.])
    """
    return ScatterAdd.apply(input, index, src,
                            dim=normalize_dims(dim, input.ndim, "scatter_add")[0])


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` along ``dim`` listed by the 1-D ``index``.

    Example:
        >>> import chainrule as cr
        >>> cr.index_select(cr.tensor([[1, 2], [3, 4], [5, 6]]), 0, cr.tensor([2, 0]))
        tensor([[5, 6],
                [1, 2]])
    """
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        got = f"{index.dtype} of shape {tuple(index.shape)}" if isinstance(index, Tensor) \
            else type(index).__name__
        raise IndexError(f"index_select: index must be a 0-d or 1-d integer tensor, got {got}")
    lead = (slice(None),) * normalize_dims(dim, input.ndim, "index_select")[0]
    return input[(*lead, index)]


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0])
        >>> cr.masked_fill(x, x > 1.5, 0.0)
        tensor([1., 0., 0.])
    """
    return where(mask, value, input)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims; the rest zeroed (selected, so NaNs above it go).

    Example:
        >>> import chainrule as cr
        >>> cr.tril(cr.ones(3, 3))
        tensor([[1., 0., 0.],
                [1., 1., 0.],
                [1., 1., 1.]])
    """
    _at_least_2d(input, "tril")
    keep = xp.tri(*input.shape[-2:], k=diagonal, dtype=bool)
    return _keep(input, keep)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims; the rest zeroed (selected, so NaNs below it go).

    Example:
        >>> import chainrule as cr
        >>> cr.triu(cr.ones(3, 3), diagonal=1)
        tensor([[0., 1., 1.],
                [0., 0., 1.],
                [0., 0., 0.]])
    """
    _at_least_2d(input, "triu")
    keep = ~xp.tri(*input.shape[-2:], k=diagonal - 1, dtype=bool)
    return _keep(input, keep)


def _at_least_2d(input: Tensor, name: str) -> None:
    if input.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(input.shape)}")


def _keep(input: Tensor, keep: Array) -> Tensor:
    return where(Tensor._wrap(keep), input, 0)


class OneHot(Op):
    """Class indices as one-hot vectors along a new dim ``dim``; no gradient."""

    name = "one_hot"
    batch_rule = staticmethod(batching.shifted("dim"))
    differentiable = False
    saves_inputs = False

    def forward(self, idx: Array) -> Array:
        # (callers check that every index is a class: put_along_axis would wrap a negative one)
        shape = idx.shape[:self.dim] + (self.num_classes,) + idx.shape[self.dim:]
        out = xp.zeros(shape, self.dtype)
        xp.put_along_axis(out, xp.expand_dims(idx, self.dim), 1, axis=self.dim)
        return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot int64 vectors in a new last dim.

    Example:
        >>> import chainrule as cr
        >>> cr.one_hot(cr.tensor([0, 2]), num_classes=3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    idx = tensor.array
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer tensor, got {tensor.dtype}")
    n = int(idx.max()) + 1 if num_classes < 0 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n}), got "
                           f"[{idx.min()}, {idx.max()}]")
    return OneHot.apply(tensor, num_classes=n, dim=idx.ndim, dtype=xp.int64)
