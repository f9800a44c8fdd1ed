"""Elementwise arithmetic: add, sub, mul, div, pow, maximum/minimum, clamp and where (the binary
and ternary primitives, broadcasting), with reciprocal and square built on them.

The unary maths, activations and comparisons live beside this module, in ``unary.py``,
``activation.py`` and ``comparison.py``. Each primitive states its derivative in its docstring;
the engine reduces broadcast gradients.
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import Op, register
from chainrule.backend import Array, default_float, is_floating, promote, result_type, xp
from chainrule.ops import batching
from chainrule.ops.unary import _data, _Unary, log
from chainrule.tensor import Tensor


def _not_broadcastable(op: Op, *xs: Array) -> RuntimeError:
    shapes = " and ".join(str(tuple(x.shape)) for x in xs)
    return RuntimeError(f"{op.name}: shapes {shapes} cannot be broadcast together")


def _dtype_of_true_div(a: Array, b: Array) -> Any:
    return None if is_floating(a.dtype) or is_floating(b.dtype) else default_float()


# ---- binary arithmetic ------------------------------------------------------------------------
@register
class Add(Op):
    """a + b.  ∂/∂a = g, ∂/∂b = g;  tangent ȧ + ḃ."""

    name = "add"
    scalar = "a + b"
    scalar_grad = ("g", "g")
    batch_rule = staticmethod(batching.elementwise)
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return a + b
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return g, g

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        return ta if tb is None else tb if ta is None else ta + tb


@register
class Sub(Op):
    """a − b.  ∂/∂a = g, ∂/∂b = −g;  tangent ȧ − ḃ."""

    name = "sub"
    scalar = "a - b"
    scalar_grad = ("g", "-g")
    batch_rule = staticmethod(batching.elementwise)
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return a - b
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return g, (-g if self.needs_input_grad[1] else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        return ta if tb is None else -tb if ta is None else ta - tb


@register
class Mul(Op):
    """a · b.  ∂/∂a = g·b, ∂/∂b = g·a;  tangent ȧ·b + a·ḃ."""

    name = "mul"
    scalar = "a * b"
    scalar_grad = ("g * b", "g * a")
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return a * b
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        return _sum(ta * b if ta is not None else None, a * tb if tb is not None else None)


@register
class Div(Op):
    """a / b (true division; integers give float32).  ∂/∂a = g/b, ∂/∂b = −g·a/b²."""

    name = "div"
    scalar = "a / b"
    scalar_grad = ("g / b", "-g * y / b")
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        dtype = _dtype_of_true_div(a, b)
        try:
            out = xp.true_divide(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None
        return out if dtype is None else out.astype(dtype)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g / b if na else None), (-g * self.output() / b if nb else None)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        return _sum(ta / b if ta is not None else None,
                    -tb * self.output() / b if tb is not None else None)


@register
class Pow(Op):
    """a ** b.  ∂/∂a = g·b·a^(b−1) (0 where b = 0), ∂/∂b = g·aᵇ·ln a (0 where a = 0)."""

    name = "pow"
    scalar = "a ** b"
    scalar_grad = ("g * b * (a if a != 0 or b != 0 else 1.0) ** (b - 1)",
                   "g * y * (log(a) if a > 0 else 0.0)")
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b < 0).any():
            raise ValueError("pow: integers to negative integer powers are not allowed")
        try:
            return xp.power(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        base = a
        if na and not b.array.all():  # d/da a⁰ = 0, also at a = 0 (not 0·0⁻¹ = nan)
            base = where((a != 0) | (b != 0), a, 1.0)
        ga = g * b * base ** (b - 1) if na else None
        gb = g * self.output() * _safe_log(a) if nb else None
        return ga, gb

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        a, b = self.inputs
        return _sum(ta * b * a ** (b - 1) if ta is not None else None,
                    tb * self.output() * _safe_log(a) if tb is not None else None)


def _safe_log(a: Tensor) -> Tensor:
    return where(a > 0, log(where(a > 0, a, 1.0)), 0.0)


def _sum(x: Tensor | None, y: Tensor | None) -> Tensor | None:
    return x if y is None else y if x is None else x + y


@register
class Maximum(Op):
    """max(a, b) elementwise.  The gradient goes to the larger input; ties split it equally."""

    name = "maximum"
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return xp.maximum(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        wa = self._weight_a()
        return g * wa, g * (1 - wa)

    def jvp(self, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        wa = self._weight_a()
        return _sum(ta * wa if ta is not None else None,
                    tb * (1 - wa) if tb is not None else None)

    def _weight_a(self) -> Tensor:
        a, b = self.inputs
        wa = (a.array > b.array) + 0.5 * (a.array == b.array)
        return Tensor._wrap(wa.astype(result_type(a.array, b.array), copy=False))


@register
class Minimum(Maximum):
    """min(a, b) elementwise.  The gradient goes to the smaller input; ties split it equally."""

    name = "minimum"

    def forward(self, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return xp.minimum(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def _weight_a(self) -> Tensor:
        a, b = self.inputs
        wa = (a.array < b.array) + 0.5 * (a.array == b.array)
        return Tensor._wrap(wa.astype(result_type(a.array, b.array), copy=False))


@register
class Where(Op):
    """cond ? a : b.  ∂/∂a = g·cond, ∂/∂b = g·¬cond; cond gets no gradient."""

    name = "where"
    scalar = "a if cond else b"
    scalar_grad = (None, "g if cond else 0.0", "0.0 if cond else g")
    batch_rule = staticmethod(batching.elementwise)

    def forward(self, cond: Array, a: Array, b: Array) -> Array:
        a, b = promote(a, b)
        try:
            return xp.where(cond, a, b)
        except ValueError:
            raise _not_broadcastable(self, cond, a, b) from None

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        cond = self.inputs[0]
        zero = Tensor._wrap(xp.zeros((), g.dtype))
        _, na, nb = self.needs_input_grad
        return None, (where(cond, g, zero) if na else None), (where(cond, zero, g) if nb else None)

    def jvp(self, tc: Tensor | None, ta: Tensor | None, tb: Tensor | None) -> Tensor | None:
        cond = self.inputs[0]
        out = self.output()
        zero = Tensor._wrap(xp.zeros((), out.dtype))
        return where(cond, ta if ta is not None else zero, tb if tb is not None else zero)


@register
class Clamp(_Unary):
    """min(max(x, lo), hi).  ∂/∂x = g where lo ≤ x ≤ hi, else 0."""

    name = "clamp"
    lo: float | None
    hi: float | None

    def forward(self, x: Array) -> Array:
        return xp.clip(x, self.lo, self.hi)

    def deriv(self, x: Any, y: Any) -> Any:
        x = _data(x)
        inside = xp.ones(x.shape, bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return inside


# ---- public functions (also Tensor methods) ---------------------------------------------------
def add(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input + alpha · other, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.add(cr.tensor([1.0, 2.0]), cr.tensor([10.0, 20.0]), alpha=2)
        tensor([21., 42.])
    """
    return Add.apply(input, other if alpha == 1 else mul(other, alpha))


def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input − alpha · other, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.sub(cr.tensor([5.0, 5.0]), cr.tensor([1.0, 2.0]), alpha=2)
        tensor([3., 1.])
    """
    return Sub.apply(input, other if alpha == 1 else mul(other, alpha))


def mul(input: Any, other: Any) -> Tensor:
    """input · other elementwise, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.mul(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0]))
        tensor([3., 8.])
    """
    return Mul.apply(input, other)


def div(input: Any, other: Any) -> Tensor:
    """input / other (true division), broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.div(cr.tensor([1.0, 3.0]), 2)
        tensor([0.5000, 1.5000])
    """
    return Div.apply(input, other)


def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.pow(cr.tensor([1.0, 2.0, 3.0]), 2)
        tensor([1., 4., 9.])
    """
    return Pow.apply(input, exponent)


def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum; the gradient is split equally on ties.

    Example:
        >>> import chainrule as cr
        >>> cr.maximum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0]))
        tensor([3., 5.])
    """
    return Maximum.apply(input, other)


def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum; the gradient is split equally on ties.

    Example:
        >>> import chainrule as cr
        >>> cr.minimum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0]))
        tensor([1., 2.])
    """
    return Minimum.apply(input, other)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (broadcasting).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([-1.0, 2.0, -3.0])
        >>> cr.where(x > 0, x, 0.0)
        tensor([0., 2., 0.])
    """
    if not isinstance(condition, Tensor):
        condition = Tensor._wrap(xp.asarray(condition, bool))
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        input = Tensor._wrap(xp.asarray(input, other.dtype))
    if not isinstance(other, Tensor) and isinstance(input, Tensor):
        other = Tensor._wrap(xp.asarray(other, input.dtype))
    return Where.apply(condition, input, other)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; tensor bounds broadcast.

    Example:
        >>> import chainrule as cr
        >>> cr.clamp(cr.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
        tensor([0.0000, 0.5000, 1.0000])

    Example:
        >>> import chainrule as cr
        >>> cr.clip(cr.tensor([-2.0, 0.5, 3.0]), -1.0, 1.0)
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    return Clamp.apply(input, lo=min, hi=max)


clip = clamp


def reciprocal(input: Tensor) -> Tensor:
    """1/x.

    Example:
        >>> import chainrule as cr
        >>> cr.reciprocal(cr.tensor([2.0, 4.0]))
        tensor([0.5000, 0.2500])
    """
    return div(1.0, input)


def square(input: Tensor) -> Tensor:
    """x².

    Example:
        >>> import chainrule as cr
        >>> cr.square(cr.tensor([-2.0, 3.0]))
        tensor([4., 9.])
    """
    return mul(input, input)
