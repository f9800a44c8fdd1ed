"""Batching rules shared by op families (JAX's batching rules, functorch's batch rules).

Under ``cr.func.vmap`` an op whose inputs carry a vmapped dimension runs once on the whole
batch: ``Op.apply`` hands the op's class, its inputs (the batched ones unwrapped, their batch
dimension at the front) and its parameters to the class's ``batch_rule``, which calls the op
(or others) on the physical tensors and returns the result with the batch dimension at the
front. A rule receives ``dims``: 0 for an input batched at this level, None for one shared by
every sample. An op without a rule runs once per sample (see ``func/batching.py``).

The families: elementwise ops (and attention, whose leading dims broadcast) align the batch
dims at the front and pad the smaller logical ranks; reductions and dim-taking ops shift their
dims by one; shape ops prepend the batch size; matmul and linear fold the batch into the rows
where they can; convolutions and pooling fold it into N (or, for batched weights and the
weight gradient, into the channels as more groups); layer norm takes it as one more leading
dim.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any

from chainrule.autograd.function import OPS
from chainrule.backend import xp
from chainrule.tensor import Tensor

Dims = Sequence[int | None]
Rule = Callable[[Any, list[Tensor], Dims, dict[str, Any]], Tensor]


class BatchedIndex:
    """An index tensor batched at the level being dispatched, inside an op's ``index`` param:
    ``value`` is its physical tensor (batch dim first). Rules that index (getitem) read it; a
    rule that does not take batched indices declines, and the op runs once per sample."""

    __slots__ = ("value",)

    def __init__(self, value: Tensor) -> None:
        self.value = value


def _size(values: Sequence[Tensor], dims: Dims) -> int:
    return next(v.shape[0] for v, d in zip(values, dims) if d is not None)


def _rank(v: Tensor, d: int | None) -> int:
    """The logical rank of a physical input (its rank without the batch dim)."""
    return v.ndim - (d is not None)


def _pad(v: Tensor, rank: int) -> Tensor:
    """A batched ``v`` with size-1 dims inserted after the batch dim up to logical ``rank``."""
    shape = v.shape
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return v
    return v.reshape(shape[0], *(1,) * missing, *shape[1:])


def _materialize(v: Tensor, d: int | None, size: int) -> Tensor:
    """``v`` with a batch dim at the front: shared inputs are broadcast to ``size`` (a view)."""
    return v if d is not None else v.unsqueeze(0).expand(size, *v.shape)


def elementwise(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """Broadcasting ops, and ops whose leading dims broadcast (attention): batched inputs get
    their logical rank padded to the largest, so the batch dims line up at the front and NumPy
    broadcasting does the rest."""
    rank = max(_rank(v, d) for v, d in zip(values, dims))
    return cls.apply(*[_pad(v, rank) if d is not None else v for v, d in zip(values, dims)],
                     **params)


def shifted(*names: str) -> Rule:
    """A rule for a one-input op whose parameters ``names`` are logical dims (an int or a tuple
    of ints, negative ones counted from the sample's last dim; None, where allowed, stays
    None): each moves one to the right."""

    def rule(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
        rank = _rank(values[0], dims[0])
        moved = dict(params)
        for name in names:
            p = params.get(name)
            if isinstance(p, int):
                moved[name] = (p % rank if p < 0 else p) + 1 if rank else p
            elif p is not None:
                moved[name] = tuple((a % rank if a < 0 else a) + 1 for a in p
                                    if a < max(rank, 1) and rank)
        return cls.apply(*[_materialize(v, d, _size(values, dims)) if i == 0 else v
                           for i, (v, d) in enumerate(zip(values, dims))], **moved)

    return rule


def leading(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """One-input ops on the trailing dims that batch over leading ones (linear algebra on
    matrices): the vmapped dim is one more leading dim."""
    return cls.apply(*values, **params)


def layer_norm(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """Layer norm over the trailing ``ndim`` dims. With shared weight and bias the batch dim is
    one more leading dim (``leading``). A batched weight or bias (an ensemble, or per-sample
    weights inside ``vmap(grad(...))``) is applied after the unaffine op by the broadcasting
    ``mul`` and ``add``, so a shared input is normalised once."""
    if all(d is None for d in dims[1:]):
        return leading(cls, values, dims, params)
    x, w, b = values
    dx, dw, db = dims
    out = elementwise(OPS["mul"], [cls.apply(x, **params), w], [dx, dw], {})
    return elementwise(OPS["add"], [out, b], [0 if dw is not None else dx, db], {})


def prepend_size(name: str) -> Rule:
    """A rule for ops whose parameter ``name`` is the logical output shape (reshape, expand):
    the batch size goes in front; expand first pads the input to the target's rank."""

    def rule(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
        (v,) = values
        shape = tuple(params[name])
        if cls.name == "expand":
            v = _pad(v, len(shape))
        return cls.apply(v, **{**params, name: (v.shape[0], *shape)})

    return rule


def permute(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    return cls.apply(values[0], dims=(0, *(d + 1 for d in params["dims"])))


def roll(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """roll: each logical dim (negative ones counted from the sample's last) shifts by one;
    over the flattened sample (dims None) each sample is rolled as one flat row."""
    (v,) = values
    if params["dims"] is not None:
        rank = max(v.ndim - 1, 1)
        return cls.apply(v, shifts=params["shifts"],
                         dims=tuple(d % rank + 1 for d in params["dims"]))
    flat = cls.apply(v.reshape(v.shape[0], -1), shifts=params["shifts"], dims=(1,))
    return flat.reshape(v.shape)


def getitem(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """Indexing: the batch's index (``_physical_index``) on the input with its batch dim in
    place, then the batch dim of the result moved to the front."""
    index = _as_tuple(params["index"])
    x, dx = values[0], dims[0]
    physical, at, lead = _physical_index(index, _rank(x, dx))
    x = _materialize(x, dx, _index_size(index) or x.shape[0])
    out = cls.apply(x.movedim(0, at) if at else x, index=physical)
    return out.movedim(lead, 0) if lead else out


def index_add(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """zeros(shape) with g added at index (getitem's backward): the mirror of ``getitem``, ``g``
    given the batch dim where ``getitem`` would put it."""
    (g,) = values
    index = _as_tuple(params["index"])
    shape = tuple(params["shape"])
    size = _index_size(index) or g.shape[0]
    physical, at, lead = _physical_index(index, len(shape))
    g = _materialize(g, dims[0], size)
    out = cls.apply(g.movedim(0, lead) if lead else g, shape=(*shape[:at], size, *shape[at:]),
                    index=physical)
    return out.movedim(at, 0) if at else out


def index_put(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """x[index] = v: as ``getitem``; a batched value gets its rank padded to the indexed
    region's and its batch dim where ``getitem`` would put it (a shared one a size-1 dim there,
    when that is not the front)."""
    (x, v), (dx, dv) = values, dims
    index = _as_tuple(params["index"])
    size = _index_size(index) or _size(values, dims)
    physical, at, lead = _physical_index(index, _rank(x, dx))
    x = _materialize(x, dx, size)
    x = x.movedim(0, at) if at else x
    if dv is not None or lead:
        region = xp.broadcast_to(xp.empty((), xp.int8), tuple(x.shape))[physical].ndim - 1
        v = _pad(v if dv is not None else v.reshape(1, *v.shape), region)
        v = v.movedim(0, lead) if lead else v
    out = cls.apply(x, v, index=physical)
    return out.movedim(at, 0) if at else out


def _as_tuple(index: Any) -> tuple[Any, ...]:
    return index if isinstance(index, tuple) else (index,)


def _index_size(index: tuple[Any, ...]) -> int | None:
    """The batch size of the index tensors batched at this level (None without any)."""
    return next((p.value.shape[0] for p in index if type(p) is BatchedIndex), None)


def _physical_index(index: tuple[Any, ...], ndim: int) -> tuple[tuple[Any, ...], int, int]:
    """For ``index`` into one sample of rank ``ndim``: the index into the batch, the dim
    where the batch's input must have its batch dim, and the dim where the result has it.

    With no batched index tensor: a full slice for the batch dim in front of the index.
    Advanced (array) indices keep their place when they are adjacent; when they are not,
    NumPy moves their dims to the front, and the batch dim comes after them. With batched
    index tensors: one more advanced index, ``arange(B)``, picks each sample's row, placed
    (with the input's batch dim) just before the first advanced index, so NumPy puts the batch
    dim where a sample's advanced dims go.
    """
    if not any(type(p) is BatchedIndex for p in index):
        return (slice(None), *index), 0, _separated(index) or 0
    if any(type(p) is BatchedIndex and p.value.dtype == xp.bool_ for p in index):
        raise RuntimeError("vmap: indexing with a boolean mask that differs per sample is not "
                           "supported: the result's shape would differ per sample (use "
                           "cr.where(mask, x, 0) instead)")
    entries: list[Any] = []
    for p in index:  # a shared boolean mask is the integer arrays of its nonzero entries
        is_mask = isinstance(p, xp.ndarray) and p.dtype == xp.bool_
        entries.extend(xp.nonzero(p) if is_mask else (p,))
    size = _index_size(index)
    used = sum(p is not None and p is not Ellipsis for p in entries)
    at = next((i for i, p in enumerate(entries) if p is Ellipsis), None)
    if at is not None:
        entries[at:at + 1] = [slice(None)] * (ndim - used)
    advanced = [i for i, p in enumerate(entries)
                if not isinstance(p, slice) and p is not None]
    first = advanced[0]
    rank = max(p.value.ndim - 1 if type(p) is BatchedIndex else p.ndim
               if isinstance(p, Tensor) else xp.ndim(p) for p in (entries[i] for i in advanced))
    physical = [_pad(p.value, rank) if type(p) is BatchedIndex else p for p in entries]
    physical = [p.array if type(p) is Tensor else p for p in physical]
    rows = xp.arange(size).reshape(size, *(1,) * rank)
    at_x = sum(isinstance(p, slice) for p in entries[:first])  # x's dim for the first one
    separated = advanced[-1] - first + 1 != len(advanced)  # then NumPy put them all first
    lead = 0 if separated else sum(isinstance(p, slice) or p is None for p in entries[:first])
    return (*physical[:first], rows, *physical[first:]), at_x, lead


def _separated(index: tuple[Any, ...]) -> int | None:
    """For an index whose advanced (array) indices are separated by a slice, None or Ellipsis,
    the number of dims NumPy puts in front for them (then the batch dim of ``x[:, *index]``
    comes after them); None otherwise."""
    arrays = [i for i, p in enumerate(index) if not isinstance(p, (int, slice, type(None)))
              and p is not Ellipsis]
    if arrays:  # beside arrays, NumPy treats integers as advanced indices too
        arrays = [i for i, p in enumerate(index) if p is not Ellipsis
                  and not isinstance(p, (slice, type(None)))]
    if arrays and arrays[-1] - arrays[0] + 1 != len(arrays) and any(
            isinstance(p, slice) or p is None or p is Ellipsis
            for p in index[arrays[0]:arrays[-1]]):
        return _broadcast_ndim([index[i] for i in arrays])
    return None


def _broadcast_ndim(arrays: list[Any]) -> int:
    shapes = [(int(xp.count_nonzero(a)),) if xp.asarray(a).dtype.kind == "b" else xp.shape(a)
              for a in arrays]
    return len(xp.broadcast_shapes(*shapes))


def cat(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    size = _size(values, dims)
    return cls.apply(*[_materialize(v, d, size) for v, d in zip(values, dims)],
                     dim=params["dim"] + 1)


def pad(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    return cls.apply(values[0], **{**params, "widths": ((0, 0), *params["widths"])})


def gather(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """gather / scatter_add: every tensor input gets the batch dim (shared ones broadcast)."""
    size = _size(values, dims)
    return cls.apply(*[_materialize(v, d, size) for v, d in zip(values, dims)],
                     **{**params, "dim": params["dim"] + 1})


def matmul(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """a @ b with either or both batched. A batched left operand times a shared matrix is one
    GEMM with the batch folded into the rows; otherwise vectors become matrices, the batch dims
    line up at the front and NumPy's batched matmul runs."""
    a, b = values
    da, db = dims
    ra, rb = _rank(a, da), _rank(b, db)
    if db is None and rb == 2 and ra >= 1:
        rows = a.reshape(-1, a.shape[-1])
        return cls.apply(rows, b).reshape(*a.shape[:-1], b.shape[-1])
    drop = []
    if ra == 1:
        a = a.unsqueeze(-2)
        drop.append(-2)
    if rb == 1:
        b = b.unsqueeze(-1)
        drop.append(-1)
    rank = max(a.ndim - (da is not None), b.ndim - (db is not None))
    a = _pad(a, rank) if da is not None else a
    b = _pad(b, rank) if db is not None else b
    out = cls.apply(a, b)
    for d in sorted(drop):
        out = out.squeeze(d)
    return out


def einsum(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """Einstein summation: a label of its own for the batch dim, on the batched operands and
    in front of the output."""
    equation = params["equation"]
    free = [c for c in string.ascii_letters if c not in equation]
    if not free:
        raise NotImplementedError("every subscript letter is taken")
    ins, out = equation.split("->")
    specs = [free[0] + s if d is not None else s for s, d in zip(ins.split(","), dims)]
    return cls.apply(*values, equation=",".join(specs) + "->" + free[0] + out)


def linear(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """F.linear: a batched input with shared weights is one GEMM over all rows; a batched
    weight (per-sample weights, as inside ``vmap(grad(...))``) is a batched matmul."""
    size = _size(values, dims)
    x, w = values[0], values[1]
    dx, dw = dims[0], dims[1]
    db = dims[2] if len(values) == 3 else None
    if dw is None and db is None:
        return cls.apply(_materialize(x, dx, size), *values[1:])
    if dw is None:
        out, dout = cls.apply(x, w), dx
    else:  # the primitives by name: their modules import this one
        out, dout = matmul(OPS["matmul"], [x, w.mT], [dx, dw], {}), 0
    if len(values) == 3:
        out, dout = elementwise(OPS["add"], [out, values[2]], [dout, db], {}), 0
    return _materialize(out, dout, size)


def fold_into_n(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """Convolutions and pooling. A batched input with shared weights folds the batch into N,
    so the op runs once on B·N samples. Batched weights (per-sample weights, as inside
    ``vmap(grad(...))``) fold the batch into the channels instead: one grouped convolution
    with B times the groups, each sample's channels meeting only its own weights."""
    size = _size(values, dims)
    x = values[0]
    if all(d is None for d in dims[1:]):
        if x.ndim == _spatial(cls) + 2:  # logical input without N: the batch is N
            return cls.apply(*values, **params)
        out = cls.apply(x.reshape(-1, *x.shape[2:]), *values[1:], **params)
        return out.reshape(size, -1, *out.shape[1:])
    if "groups" not in params:
        raise NotImplementedError(f"{cls.name}: batched weights")
    x = _materialize(x, dims[0], size)
    if x.ndim == _spatial(cls) + 3:  # (B, N, C, *spatial)
        n = x.shape[1]
        x = x.movedim(0, 1).reshape(n, -1, *x.shape[3:])
    else:  # (B, C, *spatial): one sample each
        n = 0
        x = x.reshape(1, -1, *x.shape[2:])
    w = _materialize(values[1], dims[1], size)
    w = w.reshape(-1, *w.shape[2:])
    rest = [_materialize(b, d, size).reshape(-1) for b, d in zip(values[2:], dims[2:])]
    out = cls.apply(x, w, *rest, **{**params, "groups": params["groups"] * size})
    out = out.reshape(max(n, 1), size, -1, *out.shape[2:]).movedim(1, 0)
    return out if n else out.squeeze(1)


def conv_weight(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """The weight gradient of a convolution (its backward), its input ``x`` and output gradient
    ``g`` either or both batched: one op for the whole batch, folded into the channels.
    A batched ``g`` with a shared ``x`` folds into the output channels, each group's channels
    for every sample kept in that group, and the forward's im2col buffer of ``x`` still serves.
    A batched ``x`` (per-sample inputs) folds beside ``g``'s batch into B times the groups, as
    in ``fold_into_n``."""
    (x, g), (dx, dg) = values, dims
    if dx is None:
        size, n, o = g.shape[0], g.shape[1], g.shape[2]
        out = cls.apply(x, g.movedim(0, 2).reshape(n, -1, *g.shape[3:]), **params)
        return out.reshape(o, size, *out.shape[1:]).movedim(1, 0)
    size = x.shape[0]
    x, g = (v.movedim(0, 1).reshape(v.shape[1], -1, *v.shape[3:])
            for v in (x, _materialize(g, dg, size)))
    out = cls.apply(x, g, **{**params, "groups": params["groups"] * size, "cols": None})
    return out.reshape(size, -1, *out.shape[1:])


def max_pool_argmax(cls: Any, values: list[Tensor], dims: Dims,
                    params: dict[str, Any]) -> Tensor:
    """Max-pool's backward helpers (``max_pool_scatter``, ``max_pool_gather``), whose ``argmax``
    param is one sample's: the batch folds into N and the argmax is repeated for every
    sample."""
    (v,) = values
    size = v.shape[0]
    arg = params["argmax"]
    moved = {**params, "argmax": xp.tile(arg, (size,) + (1,) * (arg.ndim - 1))}
    if "shape" in params:
        moved["shape"] = (size * params["shape"][0], *params["shape"][1:])
    out = cls.apply(v.reshape(-1, *v.shape[2:]), **moved)
    return out.reshape(size, -1, *out.shape[1:])


def _spatial(cls: Any) -> int:
    return 3 if cls.name.endswith("3d") else 2


def cross_entropy(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """The fused cross-entropy: the class dim shifts; a ``scale``d total (the mean over a
    sample's rows) is taken per sample from the unreduced losses."""
    size = _size(values, dims)
    x, q = (_materialize(v, d, size) for v, d in zip(values, dims))
    out = cls.apply(x, q, dim=params["dim"] + 1)
    if params.get("scale") is None:
        return out
    return out.reshape(size, -1).sum(1) * params["scale"]


def arg_reduce(cls: Any, values: list[Tensor], dims: Dims, params: dict[str, Any]) -> Tensor:
    """argmax/argmin: the dim shifts; over the flattened sample (dim None) each sample is
    flattened to one row."""
    (v,) = values
    if params["dim"] is not None:
        return cls.apply(v, dim=params["dim"] + 1, keepdim=params["keepdim"])
    return cls.apply(v.reshape(v.shape[0], -1), dim=1, keepdim=False)
