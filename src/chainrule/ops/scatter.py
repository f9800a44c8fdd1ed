"""Writing values at indices: ``scatter`` (overwrite), ``scatter_reduce`` (sum, prod, mean,
amax, amin), and, built on indexing, ``index_add``, ``index_put`` (with ``accumulate``) and
``masked_scatter``. (``gather`` and ``scatter_add``, which other ops' backward rules use, are in
``movement.py``; the in-place methods ``scatter_``, ``index_add_``, ... in
``tensor_operators.py``.)
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.elementwise import where
from chainrule.ops.movement import (
    Gather,
    IndexAdd,
    IndexPut,
    Pad,
    ScatterAdd,
    _along,
    normalize_index,
)
from chainrule.ops.reduce import cumsum
from chainrule.ops.shape import normalize_dims
from chainrule.tensor import Tensor

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _src_part(src: Array, index: Array) -> Array:
    """The leading block of ``src`` that ``index`` covers (``src`` may be larger)."""
    if src.ndim == 0:
        return xp.broadcast_to(src, index.shape)
    return src[tuple(slice(0, n) for n in index.shape)]


def _pad_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """A gradient over the ``index``-shaped block, zero-padded to ``src``'s shape."""
    if tuple(g.shape) == tuple(shape):
        return g
    return Pad.apply(g, widths=tuple((0, s - n) for s, n in zip(shape, g.shape)), value=0.0)


@register
class Scatter(Op):
    """x with ``x[..., index[p], ...] = src[p]`` along ``dim`` (``src`` may be a 0-d value).
    ∂/∂x = g with the written positions zeroed, ∂/∂src = g gathered at ``index``."""

    name = "scatter"
    saves_inputs = False
    dim: int

    def forward(self, x: Array, index: Array, src: Array) -> Array:
        out = x.copy()
        out[_along(index, self.dim)] = _src_part(src, index)
        return out

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        _, index, src = self.inputs
        nx, _, ns = self.needs_input_grad
        zero = Tensor._wrap(xp.zeros((), g.dtype))
        gx = Scatter.apply(g, index, zero, dim=self.dim) if nx else None
        gsrc = None
        if ns:
            gsrc = Gather.apply(g, index, dim=self.dim)
            gsrc = gsrc.sum() if src.ndim == 0 else _pad_to(gsrc, src.shape)
        return gx, None, gsrc

    def jvp(self, tx: Tensor | None, _: Tensor | None, ts: Tensor | None) -> Tensor | None:
        x, index, src = self.inputs
        return Scatter.apply(tx if tx is not None else x * 0, index,
                             ts if ts is not None else src * 0, dim=self.dim)


@register
class ScatterReduce(Op):
    """x with ``src`` reduced into it at ``index`` along ``dim`` by ``reduce`` (sum, prod,
    mean, amax, amin); with ``include_self=False`` the written positions of x take no part.

    ∂/∂x, ∂/∂src: sum — g, g[index]; mean — g/N, (g/N)[index] with N the count per position;
    amax/amin — g/N to each value equal to the result, N the number of ties; prod — g·out/x,
    (g·out)[index]/src (inputs without zeros).
    """

    name = "scatter_reduce"
    dim: int
    reduce: str
    include_self: bool

    def forward(self, x: Array, index: Array, src: Array) -> Array:
        where, vals = _along(index, self.dim), _src_part(src, index)
        out = x.copy()
        if not self.include_self:
            start = {"sum": 0, "mean": 0, "prod": 1, "amax": -xp.inf, "amin": xp.inf}
            out[where] = start[self.reduce]
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum,
                 "amin": xp.minimum}[self.reduce]
        ufunc.at(out, where, vals)
        if self.reduce == "mean":
            count = self._counts(x, index)
            out = out / xp.maximum(count, 1)
            if xp.issubdtype(x.dtype, xp.integer):
                out = xp.floor(out)
            out = out.astype(x.dtype)
        return out

    def _counts(self, x: Array, index: Array) -> Array:
        count = xp.full(x.shape, 1 if self.include_self else 0, x.dtype)
        xp.add.at(count, _along(index, self.dim), 1)
        return count

    def _written(self, x: Tensor, index: Tensor) -> Tensor:
        """1 where x reaches the output (no src value lands there, or ``include_self``)."""
        keep = xp.ones(x.shape, x.dtype)
        if not self.include_self:
            keep[_along(index.array, self.dim)] = 0
        return Tensor._wrap(keep)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x, index, src = self.inputs
        nx, _, ns = self.needs_input_grad
        d, out = self.dim, self.output()
        keep = self._written(x, index)
        if self.reduce == "sum":
            gx, gs = g * keep, Gather.apply(g, index, dim=d)
        elif self.reduce == "mean":
            scaled = g / Tensor._wrap(xp.maximum(self._counts(x.array, index.array), 1))
            gx, gs = scaled * keep, Gather.apply(scaled, index, dim=d)
        elif self.reduce == "prod":
            if (x.array == 0).any() or (src.array == 0).any():
                raise RuntimeError("scatter_reduce: the gradient of reduce='prod' with zeros in "
                                   "the input or src is not supported")
            gx = g * out / x * keep
            gs = Gather.apply(g * out, index, dim=d) / src[_src_slices(index)]
        else:
            hit_x = (x.array == out.array).astype(x.dtype)
            picked = Gather.apply(out, index, dim=d)
            hit_src = (src.array[_src_slices(index)] == picked.array).astype(x.dtype)
            ties = hit_x.copy()  # NOTE: as in PyTorch, an excluded self value still counts
            xp.add.at(ties, _along(index.array, d), hit_src)
            share = g / Tensor._wrap(xp.maximum(ties, 1))
            gx = share * Tensor._wrap(hit_x * keep.array)
            gs = Gather.apply(share, index, dim=d) * Tensor._wrap(hit_src)
        return (gx if nx else None), None, (_pad_to(gs, src.shape) if ns else None)

    def jvp(self, tx: Tensor | None, _: Tensor | None, ts: Tensor | None) -> Tensor | None:
        x, index, src = self.inputs
        tx = tx if tx is not None else x * 0
        ts = ts if ts is not None else src * 0
        d, keep = self.dim, self._written(x, index)
        if self.reduce in ("sum", "mean"):
            total = ScatterAdd.apply(tx * keep, index, ts[_src_slices(index)], dim=d)
            if self.reduce == "sum":
                return total
            return total / Tensor._wrap(xp.maximum(self._counts(x.array, index.array), 1))
        out = self.output()
        if self.reduce == "prod":
            rel = ScatterAdd.apply(tx / x * keep, index, (ts / src)[_src_slices(index)], dim=d)
            return out * rel
        hit_x = Tensor._wrap((x.array == out.array).astype(x.dtype))
        hit_src = Tensor._wrap((src.array[_src_slices(index)] == Gather.apply(
            out, index, dim=d).array).astype(x.dtype))
        ties = ScatterAdd.apply(hit_x, index, hit_src, dim=d)
        picked = ScatterAdd.apply(tx * hit_x * keep, index, ts[_src_slices(index)] * hit_src,
                                  dim=d)
        return picked / ties


def _src_slices(index: Tensor) -> tuple[slice, ...]:
    return tuple(slice(0, n) for n in index.shape)


# ---- public functions -------------------------------------------------------------------------
def _check_scatter(op: str, input: Tensor, dim: int, index: Tensor, src: Tensor | None) -> int:
    """``dim`` normalised, after PyTorch's checks of the index against input and src."""
    if not isinstance(index, Tensor) or index.dtype != xp.int64:
        got = index.dtype if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {got}")
    if input.ndim == 0:
        raise RuntimeError(f"{op}(): self must have at least one dimension, got shape ()")
    d = normalize_dims(dim, input.ndim, op)[0]
    if index.ndim != max(input.ndim, 1) or src is not None and src.ndim not in (0, index.ndim):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"self tensor (self {tuple(input.shape)}, index {tuple(index.shape)})")
    too_big = any(index.shape[k] > input.shape[k] for k in range(index.ndim) if k != d)
    if src is not None and src.ndim:
        too_big = too_big or any(i > s for i, s in zip(index.shape, src.shape))
    if too_big:
        raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be no larger than "
                           f"self {list(input.shape)} apart from dimension {d}"
                           + ("" if src is None or not src.ndim else
                              f" and to be no larger size than src {list(src.shape)}"))
    idx = index._physical()  # (batched inside vmap: every sample's indices are checked)
    if idx.size and (idx.min() < 0 or idx.max() >= input.shape[d]):
        bad = int(idx.max()) if idx.max() >= input.shape[d] else int(idx.min())
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {d} with size "
                           f"{input.shape[d]}")
    return d


def _as_src(value: Any, input: Tensor, op: str) -> Tensor:
    """A tensor of ``input``'s dtype: a Python scalar converted, a tensor checked."""
    if not isinstance(value, Tensor):
        return Tensor._wrap(xp.asarray(value, input.dtype))
    if value.dtype != input.dtype:
        raise RuntimeError(f"{op}(): expected self and source to have the same dtype, got "
                           f"{input.dtype} and {value.dtype}")
    return value


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with the values of ``src`` (or the scalar ``value``) written along
    ``dim`` at ``index``: ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``.

    ``reduce='add'`` or ``'multiply'`` combines instead of overwriting (``scatter_reduce``
    with 'sum' or 'prod'). With duplicate indices the written value is one of the
    candidates, as in PyTorch. ``index`` is int64, has ``input``'s number of dims and is no
    larger than ``src`` (which may be larger than it) nor than ``input`` outside ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3).scatter(1, cr.tensor([[2], [0]]), cr.tensor([[1.0], [2.0]])).tolist()
        [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]
    """
    if (src is None) == (value is None):
        raise TypeError("scatter(): expected exactly one of src and value")
    src_t = _as_src(src if src is not None else value, input, "scatter")
    d = _check_scatter("scatter", input, dim, index, src_t)
    if reduce is None:
        return Scatter.apply(input, index, src_t, dim=d)
    if reduce not in ("add", "multiply"):
        raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got "
                           f"{reduce!r}")
    if src_t.ndim == 0:
        src_t = src_t.expand(index.shape)
    return ScatterReduce.apply(input, index, src_t, dim=d, include_self=True,
                               reduce="sum" if reduce == "add" else "prod")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``input`` with the values of ``src`` reduced into it along ``dim`` at
    ``index`` by ``reduce``: 'sum', 'prod', 'mean', 'amax' or 'amin'. With
    ``include_self=False`` the positions that receive values forget ``input``'s. Gradients
    follow PyTorch: ties of amax/amin share the gradient evenly.

    Example:
        >>> import chainrule as cr
        >>> x, i = cr.zeros(3), cr.tensor([0, 0, 2])
        >>> x.scatter_reduce(0, i, cr.tensor([1.0, 3.0, 5.0]), "mean", include_self=False).tolist()
        [2.0, 0.0, 5.0]
    """
    if reduce not in REDUCTIONS:
        raise RuntimeError(f"scatter_reduce(): reduce argument must be either sum, prod, mean, "
                           f"amax or amin, got {reduce}")
    d = _check_scatter("scatter_reduce", input, dim, index, src)
    src = _as_src(src, input, "scatter_reduce")
    return ScatterReduce.apply(input, index, src, dim=d, reduce=reduce,
                               include_self=bool(include_self))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *,
              alpha: Any = 1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added along ``dim`` at the positions listed
    by the 1-D ``index`` (duplicates accumulate): ``out[:, index[k]] += alpha * source[:, k]``.

    Shape:
        ``source`` has ``input``'s shape except ``len(index)`` along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(3).index_add(0, cr.tensor([0, 0, 2]), cr.tensor([1.0, 2.0, 3.0])).tolist()
        [3.0, 0.0, 3.0]
    """
    d = normalize_dims(dim, max(input.ndim, 1), "index_add")[0]
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        what = (f"dim: {index.ndim}, dtype: {index.dtype}" if isinstance(index, Tensor)
                else type(index).__name__)
        raise IndexError(f"index_add(): Index is supposed to be a vector of integers, got {what}")
    n = index.numel()
    want = (*input.shape[:d], n, *input.shape[d + 1:]) if input.ndim else (n,)
    if tuple(source.shape) != want and not (input.ndim == 0 and source.numel() == n):
        raise RuntimeError(f"index_add(): source of shape {tuple(source.shape)} does not match "
                           f"self of shape {tuple(input.shape)} with {n} indices along dim {d} "
                           f"(expected {want})")
    size = input.shape[d] if input.ndim else 1
    idx = normalize_index(index.reshape(-1))  # a batched index stays a tensor for vmap's rule
    if isinstance(idx, xp.ndarray) and idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = int(idx.max()) if idx.max() >= size else int(idx.min())
        raise RuntimeError(f"index_add(): index {bad} is out of bounds for dimension {d} with "
                           f"size {size}")
    added = _as_src(source, input, "index_add")
    added = added if alpha == 1 else added * alpha
    if input.ndim == 0:
        return input + added.sum()
    where = (slice(None),) * d + (idx,)
    return input + IndexAdd.apply(added, shape=input.shape, index=where)


def index_put(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``, where
    duplicate indices add up). ``indices`` is a tuple of index tensors, as in PyTorch;
    ``values`` broadcasts to the indexed shape.

    Example:
        >>> import chainrule as cr
        >>> i = (cr.tensor([0, 0]),)
        >>> cr.zeros(2).index_put(i, cr.tensor([1.0, 2.0]), accumulate=True).tolist()
        [3.0, 0.0]
    """
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): indices must be a tuple of tensors, got "
                        f"{type(indices).__name__}")
    values = _as_src(values, input, "index_put")
    try:
        where = normalize_index(tuple(indices))
        target = xp.empty(input.shape, xp.bool_)[tuple(_shaped(i) for i in where)].shape
    except IndexError as e:
        raise IndexError(f"index_put(): {e} (self of shape {tuple(input.shape)})") from None
    try:
        xp.broadcast_shapes(tuple(values.shape), target)
    except ValueError:
        raise RuntimeError(f"index_put(): shape mismatch: value tensor of shape "
                           f"{tuple(values.shape)} cannot be broadcast to indexing result of "
                           f"shape {target}") from None
    if not accumulate:
        return IndexPut.apply(input, values, index=where)
    return input + IndexAdd.apply(values.expand(target), shape=input.shape, index=where)


def _shaped(index: Any) -> Any:
    """``index``, with a tensor batched inside ``vmap`` (which ``normalize_index`` leaves a
    tensor) standing in as zeros of one sample's shape: what the indexed shape needs."""
    return xp.zeros(tuple(index.shape), xp.int64) if isinstance(index, Tensor) else index


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the positions where ``mask`` is true filled, in row-major
    order, by the leading elements of ``source``. ``mask`` is bool and broadcasts with
    ``input``.

    Example:
        >>> import chainrule as cr
        >>> m = cr.tensor([True, False, True])
        >>> cr.zeros(3).masked_scatter(m, cr.tensor([1.0, 2.0, 3.0])).tolist()
        [1.0, 0.0, 2.0]
    """
    if mask.dtype != xp.bool_:
        raise RuntimeError(f"masked_scatter(): only supports boolean masks, but got mask with "
                           f"dtype {mask.dtype}")
    try:
        shape = xp.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    except ValueError:
        raise RuntimeError(f"masked_scatter(): mask of shape {tuple(mask.shape)} does not "
                           f"broadcast with self of shape {tuple(input.shape)}") from None
    # each true position takes the source element numbered by the trues up to it: tensor ops
    # throughout, so a mask that differs per sample under vmap is batched like any input
    flat_mask = mask.expand(shape).reshape(-1)
    taken = cumsum(flat_mask.to(xp.int64), 0)
    count = taken[-1:] if taken.numel() else Tensor._wrap(xp.zeros(1, xp.int64))
    most = int(count._physical().max())  # (batched inside vmap: the most of any sample)
    if source.numel() < most:
        raise RuntimeError(f"masked_scatter(): number of elements of source "
                           f"({source.numel()}) < number of ones in mask ({most})")
    flat = input.expand(shape).reshape(-1)
    src = _as_src(source, input, "masked_scatter").reshape(-1)
    if not src.numel():  # (then the mask has no true position)
        return flat.reshape(shape) * 1
    picked = src[(taken - 1).clamp(min=0)]
    return where(flat_mask, picked, flat).reshape(shape)


def _index_along(name: str, input: Tensor, dim: int, index: Tensor) -> tuple[int, Any]:
    """``dim`` normalized and a boolean mask, True at the positions ``index`` lists along it
    (broadcast over the other dims)."""
    d = normalize_dims(dim, max(input.ndim, 1), name)[0]
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector of integers")
    size = input.shape[d] if input.ndim else 1
    idx = index.array.reshape(-1)
    if idx.size and (idx.min() < -size or idx.max() >= size):
        raise IndexError(f"{name}(): index out of range for dim {dim} of size {size}")
    return d, idx % max(size, 1)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """A copy of ``input`` with the slices along ``dim`` listed by ``index`` set to
    ``value`` (their gradient is zero).

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, 3).index_fill(1, cr.tensor([0, 2]), 5.0)
        tensor([[5., 0., 5.],
                [5., 0., 5.]])
    """
    d, idx = _index_along("index_fill", input, dim, index)
    mask = xp.zeros(input.shape[d] if input.ndim else 1, bool)
    mask[idx] = True
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = -1
    fill = value if isinstance(value, Tensor) else xp.asarray(value, input.dtype)
    return where(Tensor._wrap(mask.reshape(shape) if input.ndim else mask.reshape(())),
                 fill, input)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with slice ``index[k]`` along ``dim`` replaced by slice k of
    ``source``.

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(3).index_copy(0, cr.tensor([2, 0]), cr.tensor([1.0, 2.0]))
        tensor([2., 0., 1.])
    """
    d, idx = _index_along("index_copy", input, dim, index)
    if input.ndim == 0:
        return source.reshape(()) * 1
    moved = input.movedim(d, 0)
    out = moved.index_put((Tensor._wrap(idx),), source.movedim(d, 0))
    return out.movedim(0, d)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by
    ``src``.

    Example:
        >>> import chainrule as cr
        >>> cr.slice_scatter(cr.zeros(4), cr.ones(2), start=1, end=3).tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    d = normalize_dims(dim, max(input.ndim, 1), "slice_scatter")[0]
    index = (slice(None),) * d + (slice(start, end, step),)
    want = tuple(Tensor._wrap(xp.empty(input.shape, bool))[index].shape)
    if tuple(src.shape) != want:
        raise RuntimeError(f"slice_scatter: expected src to have a size equal to the slice of "
                           f"self, src size = {list(src.shape)}, slice size = {list(want)}")
    return input.index_put(index, src)
