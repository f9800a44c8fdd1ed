"""Reductions: sum, prod, amax/amin (and max/min with indices), and composites built on them
(mean, var, std, logsumexp, norm, argmax/argmin, all/any, cumsum).

``dim`` is an int, a tuple of ints or None (all dims); ``keepdim`` keeps reduced dims as size 1.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, is_floating, xp
from chainrule.ops import batching
from chainrule.ops.elementwise import where
from chainrule.ops.movement import cat
from chainrule.ops.shape import Dim, normalize_dims
from chainrule.ops.sorting import sort
from chainrule.tensor import Tensor


def _expand_back(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> Tensor:
    """A gradient of a reduction's output brought back to the input's shape."""
    if not keepdim and shape:
        kept = list(g.shape)
        for a in axes:
            kept.insert(a, 1)
        g = g.reshape(tuple(kept))
    return g.expand(shape)


@register
class Sum(Op):
    """Σ over ``axes``.  ∂/∂x = g broadcast back over the reduced axes."""

    name = "sum"
    batch_rule = staticmethod(batching.shifted("axes"))
    saves_inputs = False
    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, x: Array) -> Array:
        out = x.sum(axis=self.axes, keepdims=self.keepdim)
        return out if isinstance(out, xp.ndarray) else xp.asarray(out)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (_expand_back(g, self.inputs[0].shape, self.axes, self.keepdim),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Sum.apply(t, axes=self.axes, keepdim=self.keepdim)


@register
class Prod(Op):
    """Π over ``axes``.  ∂/∂xᵢ = g·Π_{j≠i} xⱼ (computed without dividing, so zeros are exact)."""

    name = "prod"
    batch_rule = staticmethod(batching.shifted("axes"))
    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, x: Array) -> Array:
        return xp.asarray(x.prod(axis=self.axes, keepdims=self.keepdim))

    def _others(self) -> Tensor:
        """Π_{j≠i} xⱼ for every element, as exclusive cumulative products both ways."""
        x = self.inputs[0]
        keep = [d for d in range(x.ndim) if d not in self.axes]
        flat = x.permute(*keep, *self.axes)
        lead = flat.shape[: len(keep)]
        flat = flat.reshape((*lead, -1))
        ones = Tensor._wrap(xp.ones((*lead, 1), x.dtype))
        left = cumprod(_cat_last(ones, flat[..., :-1]), -1)
        right = cumprod(_cat_last(ones, flat.flip(-1)[..., :-1]), -1).flip(-1)
        others = (left * right).reshape((*lead, *[x.shape[a] for a in self.axes]))
        inverse = [0] * x.ndim
        for i, d in enumerate((*keep, *self.axes)):
            inverse[d] = i
        return others.permute(*inverse)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0]
        return (_expand_back(g, x.shape, self.axes, self.keepdim) * self._others(),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Sum.apply(t * self._others(), axes=self.axes, keepdim=self.keepdim)


@register
class Cumsum(Op):
    """Running sum along ``dim``.  ∂/∂x = reversed running sum of g."""

    name = "cumsum"
    batch_rule = staticmethod(batching.shifted("dim"))
    saves_inputs = False
    dim: int

    def forward(self, x: Array) -> Array:
        return xp.cumsum(x, axis=self.dim, dtype=x.dtype if is_floating(x.dtype) else None)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (Cumsum.apply(g.flip(self.dim), dim=self.dim).flip(self.dim),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Cumsum.apply(t, dim=self.dim)


@register
class Cumprod(Op):
    """Running product along ``dim``.  ∂/∂xᵢ = Σ_{k≥i} g_k·Π_{j≤k, j≠i} xⱼ: by division
    (Σ_{k≥i} g_k·out_k / xᵢ) when x has no zeros, else from an n×n grid of running products
    (O(n²) along ``dim``)."""

    name = "cumprod"
    batch_rule = staticmethod(batching.shifted("dim"))
    dim: int

    def forward(self, x: Array) -> Array:
        return xp.cumprod(x, axis=self.dim)

    def _others(self) -> Tensor:
        """runs[..., i, k] = Π_{j≤k, j≠i} xⱼ for k ≥ i, else 0, with ``dim`` moved last."""
        x = self.inputs[0].transpose(self.dim, -1)
        n = x.shape[-1]
        grid = where(Tensor._wrap(xp.eye(n, dtype=bool)), 1.0,
                     x.unsqueeze(-2).expand(*x.shape[:-1], n, n))
        upper = Tensor._wrap(xp.triu(xp.ones((n, n), x.dtype)))
        return Cumprod.apply(grid, dim=grid.ndim - 1) * upper

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0]
        if x.array.all():
            out = self.output()
            return (Cumsum.apply((g * out).flip(self.dim), dim=self.dim).flip(self.dim) / x,)
        gk = g.transpose(self.dim, -1).unsqueeze(-2)
        return ((self._others() * gk).sum(-1).transpose(self.dim, -1),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        x = self.inputs[0]
        if x.array.all():
            return self.output() * Cumsum.apply(t / x, dim=self.dim)
        ti = t.transpose(self.dim, -1).unsqueeze(-1)
        return (self._others() * ti).sum(-2).transpose(self.dim, -1)


@register
class Amax(Op):
    """max over ``axes``.  The gradient goes to the maximal elements, split evenly on ties
    (PyTorch's rule for ``amax``/``amin`` and full reductions)."""

    name = "amax"
    batch_rule = staticmethod(batching.shifted("axes"))
    axes: tuple[int, ...]
    keepdim: bool

    def forward(self, x: Array) -> Array:
        if x.size == 0:
            raise RuntimeError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        return xp.asarray(x.max(axis=self.axes, keepdims=self.keepdim))

    def _weights(self) -> Tensor:
        x = self.inputs[0].array
        best = self.out if self.keepdim else xp.expand_dims(self.out, self.axes)
        hit = x == best
        return Tensor._wrap((hit / hit.sum(axis=self.axes, keepdims=True)).astype(x.dtype))

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0]
        return (_expand_back(g, x.shape, self.axes, self.keepdim) * self._weights(),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return Sum.apply(t * self._weights(), axes=self.axes, keepdim=self.keepdim)


@register
class Amin(Amax):
    """min over ``axes``; the gradient goes to the minimal elements, split evenly on ties."""

    name = "amin"

    def forward(self, x: Array) -> Array:
        if x.size == 0:
            raise RuntimeError(f"{self.name}: cannot reduce an empty tensor of shape {x.shape}")
        return xp.asarray(x.min(axis=self.axes, keepdims=self.keepdim))


# ---- public functions -------------------------------------------------------------------------
def sum(input: Tensor, dim: Dim = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims by default). Booleans and integers sum to int64.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> cr.sum(x)
        tensor(10.)
        >>> cr.sum(x, dim=1, keepdim=True)
        tensor([[3.],
                [7.]])
    """
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "bi" and input.dtype != xp.int64:
        input = input.to(xp.int64)
    return Sum.apply(input, axes=normalize_dims(dim, input.ndim, "sum"), keepdim=keepdim)


def mean(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Arithmetic mean over ``dim`` (floating tensors only, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.mean(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), dim=0)
        tensor([2., 3.])
    """
    if not is_floating(input.dtype):
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be floating point, "
            f"got {input.dtype}"
        )
    axes = normalize_dims(dim, input.ndim, "mean")
    count = 1
    for a in axes:
        count *= input.shape[a] if input.ndim else 1
    return Sum.apply(input, axes=axes, keepdim=keepdim) * (1.0 / count if count else xp.nan)


def var(input: Tensor, dim: Dim = None, correction: int = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default, as in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.var(cr.tensor([1.0, 2.0, 3.0, 4.0]))
        tensor(1.6667)
    """
    if unbiased is not None:
        correction = int(unbiased)
    axes = normalize_dims(dim, input.ndim, "var")
    count = 1
    for a in axes:
        count *= input.shape[a] if input.ndim else 1
    centered = input - mean(input, axes, keepdim=True)
    dof = count - correction  # no degrees of freedom left: nan (inf·0), as in PyTorch
    return sum(centered * centered, axes, keepdim) * (1.0 / dof if dof > 0 else float("inf"))


def std(input: Tensor, dim: Dim = None, correction: int = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Tensor:
    """Standard deviation: √var.

    Example:
        >>> import chainrule as cr
        >>> cr.std(cr.tensor([1.0, 2.0, 3.0, 4.0]))
        tensor(1.2910)
        >>> cr.std(cr.tensor([1.0, 2.0, 3.0, 4.0]), correction=0)
        tensor(1.1180)
    """
    return var(input, dim, correction, keepdim, unbiased).sqrt()


def prod(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Product over ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.prod(cr.tensor([1.0, 2.0, 3.0, 4.0]))
        tensor(24.)
    """
    return Prod.apply(input, axes=normalize_dims(dim, input.ndim, "prod"), keepdim=keepdim)


def nansum(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Sum over ``dim`` with NaNs counted as zero (their gradient is zero).

    Example:
        >>> import chainrule as cr
        >>> cr.nansum(cr.tensor([1.0, float("nan"), 2.0]))
        tensor(3.)
    """
    return sum(where(input != input, xp.zeros((), input.dtype), input), dim, keepdim)


def nanmean(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Mean over ``dim`` of the elements that are not NaN.

    Example:
        >>> import chainrule as cr
        >>> cr.nanmean(cr.tensor([1.0, float("nan"), 2.0]))
        tensor(1.5000)
    """
    count = sum(input == input, dim, keepdim)
    return nansum(input, dim, keepdim) / count


def var_mean(input: Tensor, dim: Dim = None, correction: int = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """``(var, mean)`` over ``dim`` in one call.

    Example:
        >>> import chainrule as cr
        >>> cr.var_mean(cr.tensor([1.0, 2.0, 3.0]))
        (tensor(1.), tensor(2.))
    """
    return var(input, dim, correction, keepdim), mean(input, dim, keepdim)


def std_mean(input: Tensor, dim: Dim = None, correction: int = 1,
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """``(std, mean)`` over ``dim`` in one call.

    Example:
        >>> import chainrule as cr
        >>> cr.std_mean(cr.tensor([1.0, 2.0, 3.0]))
        (tensor(1.), tensor(2.))
    """
    return std(input, dim, correction, keepdim), mean(input, dim, keepdim)


MedianResult = namedtuple("MedianResult", ["values", "indices"])


def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (of an even count, the smaller middle element), as PyTorch; with
    ``dim``, ``(values, indices)`` along it. The gradient goes to the median element.

    Example:
        >>> import chainrule as cr
        >>> cr.median(cr.tensor([3.0, 1.0, 4.0, 2.0]))
        tensor(2.)
        >>> cr.median(cr.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]), 1)
        MedianResult(values=tensor([2., 4.]), indices=tensor([2, 2]))
    """
    if dim is None:
        flat = input.reshape(-1)
        values, _ = sort(flat)
        return values[(flat.shape[0] - 1) // 2]
    d = normalize_dims(dim, input.ndim, "median")[0]  # (0 for a 0-d input)
    if input.ndim == 0:
        values, indices = input.reshape(1), Tensor._wrap(xp.zeros(1, xp.int64))
        return MedianResult(values[0] if not keepdim else values.reshape(()),
                            indices[0] if not keepdim else indices.reshape(()))
    values, indices = sort(input, d)
    k = (input.shape[d] - 1) // 2
    index = (slice(None),) * d + (slice(k, k + 1),)
    picked, at = values[index], indices[index]
    if not keepdim:
        picked, at = picked.squeeze(d), at.squeeze(d)
    return MedianResult(picked, at)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (x[i+1] − x[i], repeated), after joining
    ``prepend`` and ``append`` to ``input`` along it.

    Example:
        >>> import chainrule as cr
        >>> cr.diff(cr.tensor([1.0, 4.0, 9.0, 16.0]))
        tensor([3., 5., 7.])
    """
    if input.ndim == 0:
        raise RuntimeError("diff: expects input to be at least one-dimensional")
    d = normalize_dims(dim, input.ndim, "diff")[0]
    x = cat([t for t in (prepend, input, append) if t is not None], d)
    for _ in range(n):
        m = x.shape[d]
        lead = (slice(None),) * d
        x = x[lead + (slice(1, m),)] - x[lead + (slice(0, m - 1),)]
    return x


def cumsum(input: Tensor, dim: int) -> Tensor:
    """Running sum along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.cumsum(cr.tensor([[1, 2], [3, 4]]), dim=1)
        tensor([[1, 3],
                [3, 7]])
    """
    return Cumsum.apply(input, dim=normalize_dims(dim, input.ndim, "cumsum")[0])


def cumprod(input: Tensor, dim: int) -> Tensor:
    """Running product along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.cumprod(cr.tensor([1.0, 2.0, 3.0, 4.0]), dim=0)
        tensor([ 1.,  2.,  6., 24.])
    """
    return Cumprod.apply(input, dim=normalize_dims(dim, input.ndim, "cumprod")[0])


def amax(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; ties share the gradient evenly.

    Example:
        >>> import chainrule as cr
        >>> cr.amax(cr.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=0)
        tensor([7., 5.])
    """
    return Amax.apply(input, axes=normalize_dims(dim, input.ndim, "amax"), keepdim=keepdim)


def amin(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; ties share the gradient evenly.

    Example:
        >>> import chainrule as cr
        >>> cr.amin(cr.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1)
        tensor([1., 2.])
    """
    return Amin.apply(input, axes=normalize_dims(dim, input.ndim, "amin"), keepdim=keepdim)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest element. ``max(x, dim)``: ``(values, indices)`` along ``dim``,
    the gradient going to the first maximal element only. ``max(x, y)``: elementwise maximum.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]])
        >>> cr.max(x)
        tensor(7.)
        >>> cr.max(x, dim=1)
        MaxResult(values=tensor([5., 7.]), indices=tensor([1, 0]))
    """
    if isinstance(dim, Tensor):
        return input.maximum(dim)
    if dim is None:
        return amax(input)
    return _select(input, dim, keepdim, argmax(input, dim, keepdim=True))


def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Any:
    """Like ``max`` for the smallest elements.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 5.0], [7.0, 2.0]])
        >>> cr.min(x)
        tensor(1.)
        >>> cr.min(x, dim=0).indices
        tensor([0, 1])
    """
    if isinstance(dim, Tensor):
        return input.minimum(dim)
    if dim is None:
        return amin(input)
    return _select(input, dim, keepdim, argmin(input, dim, keepdim=True))


def _select(input: Tensor, dim: int, keepdim: bool, index: Tensor) -> MaxResult:
    if input.ndim == 0:  # a 0-d tensor is its own maximum, at index 0
        return MaxResult(input.clone(), index)
    values = input.gather(dim, index)
    if not keepdim:
        values, index = values.squeeze(dim), index.squeeze(dim)
    return MaxResult(values, index)


@register
class Argmax(Op):
    """Index of the (first) largest element along ``dim`` (None: of the flattened input), as
    int64; no gradient. An op, not a function of the array, so ``vmap`` batches it."""

    name = "argmax"
    differentiable = False
    saves_inputs = False
    batch_rule = staticmethod(batching.arg_reduce)
    dim: int | None = None
    keepdim: bool = False

    def forward(self, x: Array) -> Array:
        if self.dim is None:
            return xp.asarray(x.argmax(), xp.int64)
        return x.argmax(axis=self.dim, keepdims=self.keepdim).astype(xp.int64)


@register
class Argmin(Argmax):
    """Index of the (first) smallest element; see ``Argmax``."""

    name = "argmin"

    def forward(self, x: Array) -> Array:
        if self.dim is None:
            return xp.asarray(x.argmin(), xp.int64)
        return x.argmin(axis=self.dim, keepdims=self.keepdim).astype(xp.int64)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) largest element along ``dim``, or in the flattened tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.argmax(cr.tensor([[1.0, 9.0, 3.0], [8.0, 2.0, 0.0]]), dim=1)
        tensor([1, 0])
    """
    return _arg(Argmax, input, dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) smallest element along ``dim``, or in the flattened tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.argmin(cr.tensor([4.0, 1.0, 3.0]))
        tensor(1)
    """
    return _arg(Argmin, input, dim, keepdim)


def _arg(op: type[Op], input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError(f"{op.name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
        return op.apply(input, dim=None, keepdim=False)
    d = normalize_dims(dim, input.ndim, op.name)[0]
    if input.shape and input.shape[d] == 0:
        raise IndexError(f"{op.name}(): Expected reduction dim {dim} to have non-zero size, "
                         f"got shape {tuple(input.shape)}")
    return op.apply(input, dim=d if input.ndim else None, keepdim=keepdim)


def logsumexp(input: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """ln Σ exp(x) over ``dim``, shifted by the maximum so it never overflows.

    Example:
        >>> import chainrule as cr
        >>> cr.logsumexp(cr.tensor([1000.0, 1000.0]), dim=0)
        tensor(1000.6932)
    """
    axes = normalize_dims(dim, input.ndim, "logsumexp")
    if input.ndim == 0:
        return input.clone()
    if input.numel() == 0:  # nothing to sum: log 0 = −inf
        top = Tensor._wrap(input.array.max(axis=axes, keepdims=True, initial=-xp.inf))
    else:  # (Tensor ops, not the array's max: under vmap the array holds the whole batch)
        top = Amax.apply(input.detach(), axes=axes, keepdim=True)
    if is_floating(top.dtype):  # an infinite maximum shifts by the largest finite value
        big = float(xp.finfo(top.dtype).max)
        top = top.clamp(-big, big)
    shift = top
    out = sum((input - shift).exp(), axes, keepdim=True).log() + shift
    return out if keepdim else out.squeeze(axes)


def norm(input: Tensor, p: Any = 2, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """The p-norm over ``dim`` (2 by default; 'fro', 1, inf, −inf and any p > 0). The gradient
    of a zero norm is zero, as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> cr.norm(cr.tensor([3.0, 4.0]))
        tensor(5.)
        >>> cr.norm(cr.tensor([3.0, -4.0]), p=1)
        tensor(7.)
    """
    if p in ("fro", 2, 2.0):
        return _root(sum(input * input, dim, keepdim), 0.5)
    if p in (float("inf"), "inf"):
        return amax(input.abs(), dim, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(input.abs(), dim, keepdim)
    if p in (1, 1.0):
        return sum(input.abs(), dim, keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return _root(sum(input.abs() ** p, dim, keepdim), 1.0 / p)
    raise ValueError(f"norm: unsupported order p={p!r}")


def _root(s: Tensor, power: float) -> Tensor:
    """``s ** power`` for s ≥ 0, with a zero (not nan) gradient where s = 0."""
    zero = s == 0  # NaN stays NaN
    return where(zero, 0.0, where(zero, 1.0, s) ** power)


def all(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where every element along ``dim`` is non-zero.

    Example:
        >>> import chainrule as cr
        >>> cr.all(cr.tensor([[True, False], [True, True]]), dim=1)
        tensor([False,  True])
    """
    axes = normalize_dims(dim, input.ndim, "all")
    return Tensor._wrap(xp.asarray(input.array.all(axis=axes, keepdims=keepdim)))


def any(input: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """True where some element along ``dim`` is non-zero.

    Example:
        >>> import chainrule as cr
        >>> cr.any(cr.tensor([0.0, 0.0, 3.0]) > 1)
        tensor(True)
    """
    axes = normalize_dims(dim, input.ndim, "any")
    return Tensor._wrap(xp.asarray(input.array.any(axis=axes, keepdims=keepdim)))


def count_nonzero(input: Tensor, dim: Dim = None) -> Tensor:
    """Number of non-zero elements along ``dim``.

    Example:
        >>> import chainrule as cr
        >>> cr.count_nonzero(cr.tensor([[0, 1], [2, 0]]), dim=0)
        tensor([1, 1])
    """
    axes = normalize_dims(dim, input.ndim, "count_nonzero")
    return Tensor._wrap(xp.asarray(xp.count_nonzero(input.array, axis=axes), xp.int64))


def _cat_last(a: Tensor, b: Tensor) -> Tensor:
    return cat([a, b], -1)
