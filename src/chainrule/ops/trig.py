"""Inverse trigonometric and hyperbolic maths: asin, acos, atan, sinh, cosh, asinh, acosh, atanh
and the binary atan2 (broadcasting), with log2/log10 and the composite hypot; NumPy-style
aliases (arcsin, ...).

Each primitive states its derivative in its docstring; the unary ones are ``_Unary`` ops (see
``unary.py``), so one ``deriv(x, y)`` formula gives both the backward and the tangent rule.
Outside their domains the values are nan as in PyTorch (``asin(2)``), without NumPy's warnings.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, default_float, promote, xp
from chainrule.ops import batching
from chainrule.ops.elementwise import _not_broadcastable, _sum, where
from chainrule.ops.unary import _on, _Unary, sqrt, unary_function
from chainrule.tensor import Tensor


def _quiet() -> Any:
    """Silence NumPy's warnings for nan/inf results at and beyond domain edges (PyTorch is
    silent there too)."""
    return xp.errstate(divide="ignore", invalid="ignore")


@register
class Asin(_Unary):
    """arcsin x, in [−π/2, π/2].  ∂/∂x = g/√(1 − x²) (inf at ±1, nan beyond).

    Example:
        >>> import chainrule as cr
        >>> cr.asin(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 1.5708])
    """

    name = "asin"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.arcsin(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return 1 / _on(1 - x * x, xp.sqrt, sqrt)


@register
class Acos(_Unary):
    """arccos x, in [0, π].  ∂/∂x = −g/√(1 − x²) (−inf at ±1, nan beyond).

    Example:
        >>> import chainrule as cr
        >>> cr.acos(cr.tensor([1.0, 0.0, -1.0]))
        tensor([0.0000, 1.5708, 3.1416])
    """

    name = "acos"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.arccos(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return -1 / _on(1 - x * x, xp.sqrt, sqrt)


@register
class Atan(_Unary):
    """arctan x, in (−π/2, π/2).  ∂/∂x = g/(1 + x²).

    Example:
        >>> import chainrule as cr
        >>> cr.atan(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7854])
    """

    name = "atan"

    def forward(self, x: Array) -> Array:
        return xp.arctan(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 / (1 + x * x)


@register
class Sinh(_Unary):
    """sinh x.  ∂/∂x = g·cosh x.

    Example:
        >>> import chainrule as cr
        >>> cr.sinh(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 1.1752])
    """

    name = "sinh"

    def forward(self, x: Array) -> Array:
        return xp.sinh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return _on(x, xp.cosh, cosh)


@register
class Cosh(_Unary):
    """cosh x.  ∂/∂x = g·sinh x.

    Example:
        >>> import chainrule as cr
        >>> cr.cosh(cr.tensor([0.0, 1.0]))
        tensor([1.0000, 1.5431])
    """

    name = "cosh"

    def forward(self, x: Array) -> Array:
        return xp.cosh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return _on(x, xp.sinh, sinh)


@register
class Asinh(_Unary):
    """arsinh x.  ∂/∂x = g/√(x² + 1).

    Example:
        >>> import chainrule as cr
        >>> cr.asinh(cr.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8814])
    """

    name = "asinh"

    def forward(self, x: Array) -> Array:
        return xp.arcsinh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 / _on(x * x + 1, xp.sqrt, sqrt)


@register
class Acosh(_Unary):
    """arcosh x, for x ≥ 1.  ∂/∂x = g/√(x² − 1) (inf at 1, nan below).

    Example:
        >>> import chainrule as cr
        >>> cr.acosh(cr.tensor([1.0, 2.0]))
        tensor([0.0000, 1.3170])
    """

    name = "acosh"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.arccosh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return 1 / _on(x * x - 1, xp.sqrt, sqrt)


@register
class Atanh(_Unary):
    """artanh x, for |x| < 1.  ∂/∂x = g/(1 − x²) (±inf at ±1, nan beyond).

    Example:
        >>> import chainrule as cr
        >>> cr.atanh(cr.tensor([0.0, 0.5]))
        tensor([0.0000, 0.5493])
    """

    name = "atanh"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.arctanh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return 1 / (1 - x * x)


@register
class Log2(_Unary):
    """log₂ x.  ∂/∂x = g/(x ln 2).

    NOTE: a primitive, not ``log(x) / ln 2``, for exact results at powers of the base, as
    PyTorch gives (the composite makes ``log10(1000)`` 2.9999999999999996, so its floor is 2).

    Example:
        >>> import chainrule as cr
        >>> cr.log2(cr.tensor([1.0, 8.0]))
        tensor([0., 3.])
    """

    name = "log2"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.log2(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return 1 / (x * math.log(2))


@register
class Log10(_Unary):
    """log₁₀ x.  ∂/∂x = g/(x ln 10).  A primitive for exactness, as ``log2``.

    Example:
        >>> import chainrule as cr
        >>> cr.log10(cr.tensor([1.0, 100.0]))
        tensor([0.0000, 2.0000])
    """

    name = "log10"

    def forward(self, x: Array) -> Array:
        with _quiet():
            return xp.log10(x)

    def deriv(self, x: Any, y: Any) -> Any:
        with _quiet():
            return 1 / (x * math.log(10))


@register
class Atan2(Op):
    """atan2(a, b): the angle of the point (b, a), in [−π, π] (integers give float32).
    ∂/∂a = g·b/(a² + b²),  ∂/∂b = −g·a/(a² + b²);  0 at the origin, as in PyTorch."""

    name = "atan2"
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            out = xp.arctan2(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None
        return out if a.dtype.kind == "f" or b.dtype.kind == "f" else out.astype(default_float())

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        s = g / self._r2()
        return (s * b if na else None), (-s * a if nb else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        t = _sum(ta * b if ta is not None else None, -(tb * a) if tb is not None else None)
        return t / self._r2()

    def _r2(self) -> Tensor:
        """a² + b², with 1 at the origin (where both numerators are 0, so the gradient is 0)."""
        a, b = self.inputs
        r2 = a * a + b * b
        return where(r2 == 0, 1.0, r2)


# ---- public functions (also Tensor methods) ---------------------------------------------------
asin = unary_function(Asin)
acos = unary_function(Acos)
atan = unary_function(Atan)
sinh = unary_function(Sinh)
cosh = unary_function(Cosh)
log2 = unary_function(Log2)
log10 = unary_function(Log10)


def atan2(input: Any, other: Any) -> Tensor:
    """The angle of (other, input) elementwise, broadcasting: ``atan2(y, x)``.

    Example:
        >>> import chainrule as cr
        >>> cr.atan2(cr.tensor([1.0, -1.0]), cr.tensor([0.0, 0.0]))
        tensor([ 1.5708, -1.5708])
    """
    return Atan2.apply(input, other)


def hypot(input: Any, other: Any) -> Tensor:
    """√(input² + other²) elementwise, broadcasting.  A composite: it overflows where the squares
    do (|x| beyond ~1e154 in float64, ~1e19 in float32), and, as in PyTorch, its gradient at
    (0, 0) is nan.

    Example:
        >>> import chainrule as cr
        >>> cr.hypot(cr.tensor([3.0, 5.0]), cr.tensor([4.0, 12.0]))
        tensor([ 5., 13.])
    """
    return sqrt(input * input + other * other)

