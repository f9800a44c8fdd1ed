"""Tensor's operators, in-place operations and ``backward``, bound onto ``Tensor`` as methods.

The operators (``a + b``, ``a @ b``, ``a < b``, ``a & b``, ``x[i]``, ``x[i] = v``, ...) call the
primitives directly, as they are the hottest calls; the in-place operations (``add_``, ``zero_``,
``normal_``, ...) go through ``Tensor._inplace``, which keeps the version counter and the graph
right. They live here rather than in the class body because they call the ops (and ``backward``
the engine), which import ``Tensor``: ``METHODS`` lists them, and the op table (``ops/table.py``)
binds them.
"""

from __future__ import annotations

from builtins import max as builtins_max
from collections.abc import Sequence
from typing import Any

from chainrule import random as _random
from chainrule.autograd.engine import backward as _backward
from chainrule.autograd.engine import unbroadcast as _unbroadcast
from chainrule.autograd.post_accumulate import register
from chainrule.autograd.tape import replayed
from chainrule.backend import category, xp
from chainrule.ops import comparison as _C
from chainrule.ops import elementwise as _E
from chainrule.ops import linalg as _L
from chainrule.ops import movement as _M
from chainrule.ops import scatter as _S
from chainrule.ops import unary as _U
from chainrule.tensor import Scalar, Tensor, as_array


# ---- operators (straight to the primitives: the hottest calls) -----------------------------------
def __add__(self, o: Any) -> Tensor:
    return _E.Add.apply(self, o)


def __radd__(self, o: Any) -> Tensor:
    return _E.Add.apply(o, self)


def __sub__(self, o: Any) -> Tensor:
    return _E.Sub.apply(self, o)


def __rsub__(self, o: Any) -> Tensor:
    return _E.Sub.apply(o, self)


def __mul__(self, o: Any) -> Tensor:
    return _E.Mul.apply(self, o)


def __rmul__(self, o: Any) -> Tensor:
    return _E.Mul.apply(o, self)


def __truediv__(self, o: Any) -> Tensor:
    return _E.Div.apply(self, o)


def __rtruediv__(self, o: Any) -> Tensor:
    return _E.Div.apply(o, self)


def __pow__(self, o: Any) -> Tensor:
    return _E.pow(self, o)


def __rpow__(self, o: Any) -> Tensor:
    return _E.pow(o, self)


def __matmul__(self, o: Any) -> Tensor:
    return _L.matmul(self, o)


def __rmatmul__(self, o: Any) -> Tensor:
    return _L.matmul(o, self)


def __neg__(self) -> Tensor:
    return _U.Neg.apply(self)


def __pos__(self) -> Tensor:
    return self


def __abs__(self) -> Tensor:
    return _U.abs(self)


def __invert__(self) -> Tensor:
    return _C.logical_not(self)


def __and__(self, o: Any) -> Tensor:
    return _C.bitwise_and(self, o)


def __rand__(self, o: Any) -> Tensor:
    return _C.bitwise_and(o, self)


def __or__(self, o: Any) -> Tensor:
    return _C.bitwise_or(self, o)


def __ror__(self, o: Any) -> Tensor:
    return _C.bitwise_or(o, self)


def __xor__(self, o: Any) -> Tensor:
    return _C.bitwise_xor(self, o)


def __rxor__(self, o: Any) -> Tensor:
    return _C.bitwise_xor(o, self)


def __floordiv__(self, o: Any) -> Tensor:
    return _C.floor_divide(self, o)


def __mod__(self, o: Any) -> Tensor:
    return _C.remainder(self, o)


def __eq__(self, o: Any) -> Tensor:
    return _C.eq(self, o)


def __ne__(self, o: Any) -> Tensor:
    return _C.ne(self, o)


def __lt__(self, o: Any) -> Tensor:
    return _C.lt(self, o)


def __le__(self, o: Any) -> Tensor:
    return _C.le(self, o)


def __gt__(self, o: Any) -> Tensor:
    return _C.gt(self, o)


def __ge__(self, o: Any) -> Tensor:
    return _C.ge(self, o)


# ---- augmented assignment: in place, as in PyTorch (``p -= lr * p.grad`` updates p) ------------
def _augmented(fn: Any, name: str) -> Any:
    def method(self: Tensor, o: Any) -> Tensor:
        return self._inplace(lambda s: _castable(fn(s, o), self, name))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self {name}`` in place: the result is written into this tensor."
    return method


def _castable(out: Tensor, into: Tensor, name: str) -> Tensor:
    """``out``, refused when its dtype is of a higher category than the tensor written into
    (PyTorch: an integer tensor cannot hold a float result in place)."""
    if category(out.dtype) > category(into.dtype):
        raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the desired output "
                           f"type {into.dtype}")
    if out.shape != into.shape and xp.broadcast_shapes(out.shape, into.shape) != into.shape:
        raise RuntimeError(f"{name}: output with shape {tuple(into.shape)} doesn't match the "
                           f"broadcast shape {tuple(out.shape)}")
    return out


__iadd__ = _augmented(lambda s, o: s + o, "__iadd__")
__isub__ = _augmented(lambda s, o: s - o, "__isub__")
__imul__ = _augmented(lambda s, o: s * o, "__imul__")
__itruediv__ = _augmented(lambda s, o: s / o, "__itruediv__")
__ifloordiv__ = _augmented(lambda s, o: s // o, "__ifloordiv__")
__imod__ = _augmented(lambda s, o: s % o, "__imod__")
__ipow__ = _augmented(lambda s, o: s ** o, "__ipow__")
__imatmul__ = _augmented(lambda s, o: s @ o, "__imatmul__")
__iand__ = _augmented(lambda s, o: s & o, "__iand__")
__ior__ = _augmented(lambda s, o: s | o, "__ior__")
__ixor__ = _augmented(lambda s, o: s ^ o, "__ixor__")


# ---- indexing ------------------------------------------------------------------------------------
def __getitem__(self, index: Any) -> Tensor:
    return _M.getitem(self, index)


def __setitem__(self, index: Any, value: Any) -> None:
    self._inplace(lambda s: _M.index_put(s, index, value))


def backward(
    self: Tensor,
    gradient: Tensor | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``autograd.backward``)."""
    _backward([self], None if gradient is None else [gradient], retain_graph, create_graph,
             inputs)


# ---- in-place operations -------------------------------------------------------------------------
def zero_(self) -> Tensor:
    return self._fill(xp.zeros_like(self.array))


def fill_(self, value: Scalar) -> Tensor:
    return self._fill(xp.full_like(self.array, value))


def copy_(self, src: Any) -> Tensor:
    if isinstance(src, Tensor) and src.requires_grad:
        return self._inplace(lambda _: src.to(self.dtype).expand(self.shape) * 1)
    return self._fill(as_array(src, self.dtype))


def add_(self, other: Any, alpha: Scalar = 1) -> Tensor:
    return self._inplace(lambda s: s + other * alpha if alpha != 1 else s + other)


def sub_(self, other: Any, alpha: Scalar = 1) -> Tensor:
    return self._inplace(lambda s: s - other * alpha if alpha != 1 else s - other)


def mul_(self, other: Any) -> Tensor:
    return self._inplace(lambda s: s * other)


def div_(self, other: Any) -> Tensor:
    return self._inplace(lambda s: s / other)


def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
    return self._inplace(lambda s: s.clamp(min, max))


def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
    return self._inplace(lambda s: s.masked_fill(mask, value))


@replayed
def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    rng = _random.numpy_generator(generator)
    return self._fill(rng.uniform(a, b, self.shape).astype(self.dtype))


@replayed
def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    rng = _random.numpy_generator(generator)
    return self._fill(rng.normal(mean, std, self.shape).astype(self.dtype))


@replayed
def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    rng = _random.numpy_generator(generator)
    probs = p.array if isinstance(p, Tensor) else p
    return self._fill((rng.random(self.shape) < probs).astype(self.dtype))


@replayed
def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    rng = _random.numpy_generator(generator)
    return self._fill(rng.exponential(1.0 / lambd, self.shape).astype(self.dtype))


def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
    """Set the main diagonal (all indices equal) to ``fill_value`` in place; for a tall
    matrix, ``wrap`` restarts it every ``cols + 1`` rows, as NumPy's ``fill_diagonal``."""
    if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
        raise RuntimeError(f"fill_diagonal_: all dimensions of input must be of equal length "
                           f"(or the tensor 2-D), got shape {tuple(self.shape)}")
    mask = xp.zeros(self.shape, bool)
    xp.fill_diagonal(mask, True, wrap=wrap)
    return self._inplace(lambda s: _E.where(Tensor._wrap(mask), xp.asarray(fill_value,
                                                                            self.dtype), s))


@replayed
def random_(self, from_: int = 0, to: int | None = None, *, generator: Any = None) -> Tensor:
    """Fill with integers drawn uniformly from [from_, to) (one argument: [0, from_); none:
    [0, 2^mantissa] for floats, the dtype's range for integers), as PyTorch."""
    if to is None and from_ != 0:
        from_, to = 0, from_
    if to is None:
        to = (2 ** (xp.finfo(self.dtype).nmant + 1) + 1 if self.dtype.kind == "f"
              else int(xp.iinfo(self.dtype).max) + 1 if self.dtype.kind in "iu" else 2)
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} "
                           f">= to={to}")
    rng = _random.numpy_generator(generator)
    return self._fill(rng.integers(from_, to, self.shape).astype(self.dtype))


# ---- PyTorch's small conveniences --------------------------------------------------------------
def data_ptr(self) -> int:
    """The address of this tensor's first element."""
    return int(self.array.__array_interface__["data"][0])


def sum_to_size(self, *size: Any) -> Tensor:
    """This tensor summed over the dims that broadcasting would stretch to make it ``size``
    from a tensor of ``size``."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    if xp.broadcast_shapes(tuple(shape), tuple(self.shape)) != tuple(self.shape):
        raise RuntimeError(f"sum_to_size: size {list(shape)} is not expandable to size "
                           f"{list(self.shape)}")
    return _unbroadcast(self, tuple(shape))


def reshape_as(self, other: Tensor) -> Tensor:
    """This tensor reshaped to ``other``'s shape."""
    return self.reshape(other.shape)


def where(self, condition: Any, other: Any) -> Tensor:
    """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self,
    other)``)."""
    return _E.where(condition, self, other)


def stride(self, dim: int | None = None) -> Any:
    """The step in elements between neighbours along each dim, of the tensor as if laid out
    contiguously (chainrule's tensors have no user-visible storage offsets)."""
    strides, step = [], 1
    for n in reversed(self.shape):
        strides.append(step)
        step *= builtins_max(n, 1)
    strides.reverse()
    return tuple(strides) if dim is None else strides[dim]


def ndimension(self) -> int:
    """The number of dims (``dim()``)."""
    return self.ndim


def get_device(self) -> int:
    """−1: a CPU tensor (PyTorch's answer for the CPU)."""
    return -1


def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
    """Call ``hook(self)`` once a backward pass has finished accumulating into this leaf's
    ``.grad``. Returns a handle whose ``remove()`` unregisters it."""
    return register(self, hook)


# ---- in-place writes at indices (the functions are in ops/scatter.py) -------------------------
def scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
             reduce: str | None = None) -> Tensor:
    """In-place ``scatter``."""
    return self._inplace(lambda s: _S.scatter(s, dim, index, src, value=value, reduce=reduce))


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return self._inplace(lambda s: s.scatter_add(dim, index, src))


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place ``scatter_reduce``."""
    return self._inplace(lambda s: _S.scatter_reduce(s, dim, index, src, reduce,
                                                     include_self=include_self))


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *,
               alpha: Any = 1) -> Tensor:
    """In-place ``index_add``."""
    return self._inplace(lambda s: _S.index_add(s, dim, index, source, alpha=alpha))


def index_put_(self: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``."""
    return self._inplace(lambda s: _S.index_put(s, indices, values, accumulate))


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place ``masked_scatter``; ``mask`` must broadcast to ``self``'s shape."""
    try:
        xp.broadcast_to(mask.array, self.shape)
    except ValueError:
        raise RuntimeError(f"masked_scatter_(): mask of shape {tuple(mask.shape)} does not "
                           f"broadcast to self of shape {tuple(self.shape)}") from None
    return self._inplace(lambda s: _S.masked_scatter(s, mask, source))


# ---- in-place forms of pointwise methods: ``x.exp_()`` writes ``x.exp()`` into x ---------------
def _in_place_of(name: str) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._inplace(
            lambda s: _castable(getattr(s, name)(*args, **kwargs), self, f"{name}_"))

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = (f"``self.{name}(...)`` written into this tensor, which is returned "
                      f"(``torch.Tensor.{name}_``).")
    return method


_IN_PLACE = tuple(_in_place_of(name) for name in (
    "abs", "absolute", "neg", "negative", "exp", "exp2", "expm1", "log", "log1p", "log2",
    "log10", "sqrt", "rsqrt", "sigmoid", "tanh", "relu", "sin", "cos", "tan", "asin", "acos",
    "atan", "sinh", "cosh", "floor", "ceil", "round", "trunc", "fix", "frac", "sign", "sgn",
    "reciprocal", "square", "erf", "erfc", "logit", "deg2rad", "rad2deg", "nan_to_num",
    "pow", "clamp_min", "clamp_max", "clip", "addcmul", "addcdiv", "lerp", "xlogy",
    "remainder", "fmod", "multiply", "subtract", "divide", "true_divide", "tril", "triu",
    "logaddexp", "fmax", "fmin", "copysign", "ldexp", "sinc", "float_power", "index_fill",
    "index_copy"))

METHODS: dict[str, Any] = {fn.__name__: fn for fn in (
    __add__, __radd__, __sub__, __rsub__, __mul__, __rmul__,
    __truediv__, __rtruediv__, __pow__, __rpow__, __matmul__, __rmatmul__,
    __neg__, __pos__, __abs__, __invert__, __and__, __rand__,
    __or__, __ror__, __xor__, __rxor__, __floordiv__, __mod__,
    __eq__, __ne__, __lt__, __le__, __gt__, __ge__,
    __getitem__, __setitem__, __iadd__, __isub__, __imul__, __itruediv__,
    __ifloordiv__, __imod__, __ipow__, __imatmul__, __iand__, __ior__,
    __ixor__, zero_, fill_, copy_, add_, sub_,
    mul_, div_, clamp_, masked_fill_, uniform_, normal_,
    backward, register_post_accumulate_grad_hook, scatter_, scatter_add_, scatter_reduce_,
    index_add_, index_put_, masked_scatter_, *_IN_PLACE, bernoulli_, exponential_,
    reshape_as, where, stride, ndimension, get_device, fill_diagonal_, random_, data_ptr,
    sum_to_size,
)}
"""The methods above by name, for the op table to bind onto ``Tensor``."""
