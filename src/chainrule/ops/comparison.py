"""Elementwise ops with no gradient: comparisons (eq, lt, ...), logic (logical_and/or/xor/not),
isnan/isfinite/isinf, signbit, isin, floor_divide, gcd/lcm and ``isclose``; plus ``equal`` and
``allclose``, which answer with a Python bool. Also the two moduli, ``remainder`` (sign of the
divisor, Python's ``%``) and ``fmod`` (sign of the dividend, C's ``fmod``), which carry
PyTorch's gradients.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, promote, xp
from chainrule.ops import batching
from chainrule.ops.unary import unary_function
from chainrule.tensor import Tensor


def _comparison(name: str, fn: Any, example: str) -> type[Op]:
    cls = type(name.capitalize(), (Op,), {
        "name": name, "differentiable": False,
        "forward": lambda self, a, b: fn(*promote(a, b)),
        "batch_rule": staticmethod(batching.elementwise),
        "__doc__": f"{name}(a, b) elementwise, as bool; no gradient.\n\n"
                   f"    Example:\n        >>> import chainrule as cr\n{example}",
    })
    return register(cls)


_EQ = _comparison("eq", xp.equal, """\
        >>> cr.eq(cr.tensor([1, 2, 3]), cr.tensor([1, 0, 3]))
        tensor([ True, False,  True])
""")
_NE = _comparison("ne", xp.not_equal, """\
        >>> cr.ne(cr.tensor([1, 2]), cr.tensor([1, 3]))
        tensor([False,  True])
""")
_LT = _comparison("lt", xp.less, """\
        >>> cr.lt(cr.tensor([1, 2, 3]), 2)
        tensor([ True, False, False])
""")
_LE = _comparison("le", xp.less_equal, """\
        >>> cr.le(cr.tensor([1, 2, 3]), 2)
        tensor([ True,  True, False])
""")
_GT = _comparison("gt", xp.greater, """\
        >>> cr.gt(cr.tensor([1, 2, 3]), 2)
        tensor([False, False,  True])
""")
_GE = _comparison("ge", xp.greater_equal, """\
        >>> cr.ge(cr.tensor([1, 2, 3]), 2)
        tensor([False,  True,  True])
""")
_AND = _comparison("logical_and", xp.logical_and, """\
        >>> cr.logical_and(cr.tensor([True, True, False]), cr.tensor([True, False, False]))
        tensor([ True, False, False])
""")
_OR = _comparison("logical_or", xp.logical_or, """\
        >>> cr.logical_or(cr.tensor([True, False, False]), cr.tensor([False, False, True]))
        tensor([ True, False,  True])
""")
_XOR = _comparison("logical_xor", xp.logical_xor, """\
        >>> cr.logical_xor(cr.tensor([True, True]), cr.tensor([True, False]))
        tensor([False,  True])
""")


def _integer_division(fn: Any) -> Any:
    """``fn`` on the promoted operands, refusing an integer division by zero as PyTorch does
    (NumPy would give 0)."""
    def divide(a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        if a.dtype.kind in "iub" and not xp.all(b):
            raise RuntimeError(f"{fn.__name__}: ZeroDivisionError (integer division by zero)")
        return fn(a, b)
    return divide


_FLOORDIV = _comparison("floor_divide", _integer_division(xp.floor_divide), """\
        >>> cr.floor_divide(cr.tensor([7, -7]), 2)
        tensor([ 3, -4])
""")


def _bitwise(fn: Any) -> Any:
    """``fn`` on integer or bool operands (PyTorch has no bitwise ops on floats)."""
    def bitwise(a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        if a.dtype.kind not in "iub":
            raise RuntimeError(f"{fn.__name__}: not implemented for dtype {a.dtype} (integer "
                               "and bool tensors only)")
        return fn(a, b)
    return bitwise


_BAND = _comparison("bitwise_and", _bitwise(xp.bitwise_and), """\
        >>> cr.bitwise_and(cr.tensor([12, 10]), cr.tensor([10, 6]))
        tensor([8, 2])
""")
_BOR = _comparison("bitwise_or", _bitwise(xp.bitwise_or), """\
        >>> cr.bitwise_or(cr.tensor([12, 10]), cr.tensor([10, 6]))
        tensor([14, 14])
""")
_BXOR = _comparison("bitwise_xor", _bitwise(xp.bitwise_xor), """\
        >>> cr.bitwise_xor(cr.tensor([12, 10]), cr.tensor([10, 6]))
        tensor([ 6, 12])
""")


class _Modulo(Op):
    """a − q·b for an integer-valued quotient q (piecewise constant).  ∂/∂a = g, ∂/∂b = −g·q;
    tangent ȧ − ḃ·q (PyTorch's rules; the jumps where q changes are ignored)."""

    batch_rule = staticmethod(batching.elementwise)

    def quotient(self, a: Array, b: Array) -> Array:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        na, nb = self.needs_input_grad
        return (g if na else None), (-g * self._q() if nb else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        tq = -tb * self._q() if tb is not None else None
        return ta if tq is None else tq if ta is None else ta + tq

    def _q(self) -> Tensor:
        a, b = self.inputs
        with xp.errstate(divide="ignore", invalid="ignore"):
            return Tensor._wrap(xp.asarray(self.quotient(a.array, b.array)))


@register
class Remainder(_Modulo):
    """a mod b with the sign of b (Python's ``%``, ``torch.remainder``); q = ⌊a/b⌋.

    Example:
        >>> import chainrule as cr
        >>> cr.remainder(cr.tensor([5, -5]), 3)
        tensor([2, 1])
    """

    name = "remainder"

    def forward(self, a: Array, b: Array) -> Array:
        with xp.errstate(divide="ignore", invalid="ignore"):  # nan for b = 0, as in PyTorch
            return _integer_division(xp.remainder)(a, b)

    def quotient(self, a: Array, b: Array) -> Array:
        return xp.floor_divide(a, b)


@register
class Fmod(_Modulo):
    """a mod b with the sign of a (C's ``fmod``, ``torch.fmod``); q = trunc(a/b).

    Example:
        >>> import chainrule as cr
        >>> cr.fmod(cr.tensor([5.0, -5.0]), 3)
        tensor([ 2., -2.])
    """

    name = "fmod"

    def forward(self, a: Array, b: Array) -> Array:
        with xp.errstate(divide="ignore", invalid="ignore"):  # nan for b = 0, as in PyTorch
            return _integer_division(xp.fmod)(a, b)

    def quotient(self, a: Array, b: Array) -> Array:
        return xp.trunc(xp.true_divide(a, b))


@register
class LogicalNot(Op):
    """¬x (bool), or bitwise not for integers; no gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.logical_not(cr.tensor([True, False]))
        tensor([False,  True])
    """

    name = "logical_not"
    batch_rule = staticmethod(batching.elementwise)
    differentiable = False

    def forward(self, x: Array) -> Array:
        return xp.logical_not(x) if x.dtype.kind == "b" else xp.invert(x)


def _predicate(name: str, fn: Any, what: str, example: str) -> type[Op]:
    """A no-gradient elementwise test of one tensor, as bool (isnan, isinf, signbit, ...)."""
    cls = type(name.capitalize(), (Op,), {
        "name": name, "differentiable": False,
        "forward": lambda self, x: fn(x),
        "batch_rule": staticmethod(batching.elementwise),
        "__doc__": f"{what}, as bool; no gradient.\n\n"
                   f"    Example:\n        >>> import chainrule as cr\n"
                   f"        >>> import math\n{example}",
    })
    return register(cls)


Isnan = _predicate("isnan", xp.isnan, "isnan(x)", """\
        >>> cr.isnan(cr.tensor([1.0, math.nan]))
        tensor([False,  True])
""")
Isfinite = _predicate("isfinite", xp.isfinite, "isfinite(x)", """\
        >>> cr.isfinite(cr.tensor([1.0, math.inf, math.nan]))
        tensor([ True, False, False])
""")
Isinf = _predicate("isinf", xp.isinf, "x = ±inf", """\
        >>> cr.isinf(cr.tensor([1.0, -math.inf, math.nan]))
        tensor([False,  True, False])
""")
Isposinf = _predicate("isposinf", xp.isposinf, "x = +inf", """\
        >>> cr.isposinf(cr.tensor([math.inf, -math.inf]))
        tensor([ True, False])
""")
Isneginf = _predicate("isneginf", xp.isneginf, "x = −inf", """\
        >>> cr.isneginf(cr.tensor([math.inf, -math.inf]))
        tensor([False,  True])
""")
Signbit = _predicate("signbit", xp.signbit, "Whether x's sign bit is set (−0.0 included)", """\
        >>> cr.signbit(cr.tensor([-0.0, 0.0, -2.0]))
        tensor([ True, False,  True])
""")


# ---- public functions (also Tensor methods) ---------------------------------------------------
isnan = unary_function(Isnan)
isfinite = unary_function(Isfinite)
isinf = unary_function(Isinf)
isposinf = unary_function(Isposinf)
isneginf = unary_function(Isneginf)
signbit = unary_function(Signbit)
logical_not = unary_function(LogicalNot)


def isin(elements: Any, test_elements: Any, *, invert: bool = False) -> Tensor:
    """Whether each of ``elements`` occurs in ``test_elements``, as bool; no gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.isin(cr.tensor([1, 2, 3, 4]), cr.tensor([2, 4]))
        tensor([False,  True, False,  True])
    """
    a, b = (x.array if isinstance(x, Tensor) else xp.asarray(x)
            for x in (elements, test_elements))
    return Tensor._wrap(xp.isin(a, b, invert=invert))


def _binary(op: type[Op]) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        return op.apply(input, other)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.__doc__
    return fn


eq = _binary(_EQ)
ne = _binary(_NE)
lt = _binary(_LT)
le = _binary(_LE)
gt = _binary(_GT)
ge = _binary(_GE)
logical_and = _binary(_AND)
logical_or = _binary(_OR)
logical_xor = _binary(_XOR)
floor_divide = _binary(_FLOORDIV)
bitwise_and = _binary(_BAND)
bitwise_or = _binary(_BOR)
bitwise_xor = _binary(_BXOR)
remainder = _binary(Remainder)
fmod = _binary(Fmod)
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements.

    Example:
        >>> import chainrule as cr
        >>> cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2]))
        True
        >>> cr.equal(cr.tensor([1, 2]), cr.tensor([1, 2, 3]))
        False
    """
    return input.shape == other.shape and bool((input.array == other.array).all())


def isclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    """|input − other| ≤ atol + rtol·|other| elementwise (broadcasting), as a bool tensor.

    Infinities are close only to the same infinity; NaN is close to NaN only when
    ``equal_nan``. No gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.isclose(cr.tensor([1.0, 1.1, float("nan")]), cr.tensor([1.0, 1.0, float("nan")]))
        tensor([ True, False, False])
    """
    for label, v in (("rtol", rtol), ("atol", atol)):
        if not v >= 0:
            raise ValueError(f"isclose: {label} must be >= 0, got {v}")
    other = getattr(other, "array", other)
    try:
        out = xp.isclose(input.array, other, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except ValueError:
        shapes = f"{tuple(input.shape)} and {tuple(xp.shape(other))}"
        raise RuntimeError(f"isclose: shapes {shapes} cannot be broadcast together") from None
    return Tensor._wrap(xp.asarray(out))


def allclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    """True if all elements are close (NumPy/PyTorch rule |a − b| ≤ atol + rtol·|b|).

    Example:
        >>> import chainrule as cr
        >>> cr.allclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-9]))
        True
    """
    return bool(isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan).array.all())


def gcd(input: Tensor, other: Tensor) -> Tensor:
    """The greatest common divisor of integer tensors, elementwise (non-negative).

    Example:
        >>> import chainrule as cr
        >>> cr.gcd(cr.tensor([12, -9, 0]), cr.tensor([8, 6, 5]))
        tensor([4, 3, 5])
    """
    return _integer_pair("gcd", xp.gcd, input, other)


def lcm(input: Tensor, other: Tensor) -> Tensor:
    """The least common multiple of integer tensors, elementwise (non-negative).

    Example:
        >>> import chainrule as cr
        >>> cr.lcm(cr.tensor([4, 6]), cr.tensor([6, 4]))
        tensor([12, 12])
    """
    return _integer_pair("lcm", xp.lcm, input, other)


def _integer_pair(name: str, fn: Any, input: Tensor, other: Tensor) -> Tensor:
    a, b = input.array, other.array if isinstance(other, Tensor) else xp.asarray(other)
    if a.dtype.kind not in "iu" or b.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected integer tensors, got {a.dtype} and {b.dtype}")
    return Tensor._wrap(fn(a, b))
