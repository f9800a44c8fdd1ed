"""Elementwise ops with no gradient: comparisons (eq, lt, ...), logic (logical_and/or/xor/not),
isnan/isfinite, and floor_divide and remainder (also recorded without a gradient); plus
``equal`` and ``allclose``, which answer with a Python bool.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, xp
from chainrule.ops.unary import _unary
from chainrule.tensor import Tensor, tensor_method


def _comparison(name: str, fn: Any) -> type[Op]:
    cls = type(name.capitalize(), (Op,), {
        "name": name, "differentiable": False,
        "forward": lambda self, a, b: fn(a, b),
        "__doc__": f"{name}(a, b) elementwise, as bool; no gradient.",
    })
    return register(cls)


_EQ = _comparison("eq", xp.equal)
_NE = _comparison("ne", xp.not_equal)
_LT = _comparison("lt", xp.less)
_LE = _comparison("le", xp.less_equal)
_GT = _comparison("gt", xp.greater)
_GE = _comparison("ge", xp.greater_equal)
_AND = _comparison("logical_and", xp.logical_and)
_OR = _comparison("logical_or", xp.logical_or)
_XOR = _comparison("logical_xor", xp.logical_xor)
_FLOORDIV = _comparison("floor_divide", xp.floor_divide)
_REM = _comparison("remainder", xp.remainder)


@register
class LogicalNot(Op):
    """¬x (bool), or bitwise not for integers; no gradient."""

    name = "logical_not"
    differentiable = False

    def forward(self, x: Array) -> Array:
        return xp.logical_not(x) if x.dtype.kind == "b" else xp.invert(x)


@register
class Isnan(Op):
    """isnan(x) as bool; no gradient."""

    name = "isnan"
    differentiable = False

    def forward(self, x: Array) -> Array:
        return xp.isnan(x)


@register
class Isfinite(Op):
    """isfinite(x) as bool; no gradient."""

    name = "isfinite"
    differentiable = False

    def forward(self, x: Array) -> Array:
        return xp.isfinite(x)


# ---- public functions (also Tensor methods) ---------------------------------------------------
isnan = _unary(Isnan)
isfinite = _unary(Isfinite)
logical_not = _unary(LogicalNot)


def _binary(op: type[Op]) -> Any:
    def fn(input: Any, other: Any) -> Tensor:
        return op.apply(input, other)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.__doc__
    return tensor_method(fn)


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
remainder = _binary(_REM)
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


@tensor_method
def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return input.shape == other.shape and bool((input.data == other.data).all())


@tensor_method
def allclose(input: Tensor, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    """True if all elements are close (NumPy/PyTorch rule |a − b| ≤ atol + rtol·|b|)."""
    return bool(xp.allclose(input.data, getattr(other, "data", other), rtol=rtol, atol=atol))
