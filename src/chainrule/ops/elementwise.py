"""Elementwise arithmetic: add, sub, mul, div, pow, maximum/minimum, clamp and where (the binary
and ternary primitives, broadcasting), with reciprocal, square, addcmul/addcdiv, lerp,
clamp_min/max, fmax/fmin, trunc/frac, exp2, ldexp, xlogy, logaddexp(2), sinc, float_power,
copysign, heaviside and nan_to_num built on them.

The unary maths, activations and comparisons live beside this module, in ``unary.py``,
``activation.py`` and ``comparison.py``. Each primitive states its derivative in its docstring;
the engine reduces broadcast gradients.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule import kernels
from chainrule.autograd.function import Op, register
from chainrule.backend import Array, default_float, is_floating, promote, result_type, xp
from chainrule.ops import batching
from chainrule.ops.comparison import floor_divide
from chainrule.ops.unary import _data, _Unary, ceil, floor, log
from chainrule.tensor import Tensor


def _not_broadcastable(op: Op, *xs: Array) -> RuntimeError:
    shapes = " and ".join(str(tuple(x.shape)) for x in xs)
    return RuntimeError(f"{op.name}: shapes {shapes} cannot be broadcast together")


def _dtype_of_true_div(a: Array, b: Array) -> Any:
    return None if is_floating(a.dtype) or is_floating(b.dtype) else default_float()


# ---- binary arithmetic ------------------------------------------------------------------------
_SHARED = 1 << 16
"""Elements from which a sum may run over MKL's threads (``kernels.arithmetic``)."""


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
        if a.size >= _SHARED and a.shape == b.shape and kernels.fits_in_place(a, b):
            out = kernels.arithmetic.add(a, b)
            if out is not None:
                return out
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


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """input / other, broadcasting: true division, or rounded toward zero
    (``rounding_mode="trunc"``) or down (``"floor"``), integers staying integers there.

    Example:
        >>> import chainrule as cr
        >>> cr.div(cr.tensor([1.0, 3.0]), 2)
        tensor([0.5000, 1.5000])
        >>> cr.div(cr.tensor([-7, 7]), 2, rounding_mode="trunc")
        tensor([-3,  3])
    """
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found '{rounding_mode}'")
    if rounding_mode == "floor":
        return floor_divide(input, other)
    a = input if isinstance(input, Tensor) else Tensor._wrap(xp.asarray(input))
    b = other if isinstance(other, Tensor) else Tensor._wrap(xp.asarray(other, a.dtype))
    if a.dtype.kind in "iub" and b.dtype.kind in "iub":  # integers: floor, corrected upward
        q = floor_divide(a, b)  # where the exact quotient is negative and inexact
        return where((q < 0) & (q * b != a), q + 1, q)
    return trunc(Div.apply(a, b))


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


def addcmul(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value · tensor1 · tensor2, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.addcmul(cr.ones(2), cr.tensor([2.0, 3.0]), cr.tensor([4.0, 5.0]), value=0.5)
        tensor([5.0000, 8.5000])
    """
    product = mul(tensor1, tensor2)
    return add(input, product if value == 1 else mul(product, value))


def addcdiv(input: Any, tensor1: Any, tensor2: Any, *, value: float = 1) -> Tensor:
    """input + value · tensor1 / tensor2, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.addcdiv(cr.ones(2), cr.tensor([2.0, 3.0]), cr.tensor([4.0, 6.0]), value=2)
        tensor([2., 2.])
    """
    quotient = div(tensor1, tensor2)
    return add(input, quotient if value == 1 else mul(quotient, value))


def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight · (end − input): linear interpolation, broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.lerp(cr.tensor([0.0, 10.0]), cr.tensor([10.0, 20.0]), 0.25)
        tensor([ 2.5000, 12.5000])
    """
    return add(input, mul(weight, sub(end, input)))


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """max(x, min) (``clamp(input, min=min)``).

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_min(cr.tensor([-1.0, 2.0]), 0.5)
        tensor([0.5000, 2.0000])
    """
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """min(x, max) (``clamp(input, max=max)``).

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_max(cr.tensor([-1.0, 2.0]), 0.5)
        tensor([-1.0000,  0.5000])
    """
    return clamp(input, max=max)


def trunc(input: Tensor) -> Tensor:
    """x rounded toward zero; zero gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.trunc(cr.tensor([-1.5, 0.5, 2.7]))
        tensor([-1.,  0.,  2.])
    """
    if input.dtype.kind in "iub":
        return input.clone()
    return where(input >= 0, floor(input), ceil(input))


def frac(input: Tensor) -> Tensor:
    """x − trunc(x), the fractional part with x's sign.

    Example:
        >>> import chainrule as cr
        >>> cr.frac(cr.tensor([-1.5, 2.25]))
        tensor([-0.5000,  0.2500])
    """
    return sub(input, trunc(input))


def exp2(input: Tensor) -> Tensor:
    """2ˣ (exact at integers).  ∂/∂x = g·2ˣ·ln 2.

    Example:
        >>> import chainrule as cr
        >>> cr.exp2(cr.tensor([0.0, 3.0, -1.0]))
        tensor([1.0000, 8.0000, 0.5000])
    """
    dtype = input.dtype if is_floating(input.dtype) else default_float()
    return pow(Tensor._wrap(xp.asarray(2, dtype)), input)


def xlogy(input: Any, other: Any) -> Tensor:
    """x · log(y), 0 where x = 0 (unless y is NaN), broadcasting.

    Example:
        >>> import chainrule as cr
        >>> cr.xlogy(cr.tensor([0.0, 2.0]), cr.tensor([0.0, 3.0]))
        tensor([0.0000, 2.1972])
    """
    x = input if isinstance(input, Tensor) else Tensor._wrap(xp.asarray(input,
                                                                       default_float()))
    y = other if isinstance(other, Tensor) else Tensor._wrap(xp.asarray(other, x.dtype))
    with xp.errstate(divide="ignore", invalid="ignore"):  # 0·log 0 is replaced below
        product = mul(x, log(y))
    return where((x == 0) & (y == y), xp.zeros((), product.dtype), product)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """x with NaN, +inf and −inf replaced (by 0 and the dtype's largest and lowest finite
    values unless given); the gradient passes where x is finite.

    Example:
        >>> import chainrule as cr
        >>> cr.nan_to_num(cr.tensor([float("nan"), float("inf"), -1.0]), posinf=9.0)
        tensor([ 0.,  9., -1.])
    """
    if not is_floating(input.dtype):
        return input.clone()
    info = xp.finfo(xp.float32 if input.dtype.name == "bfloat16" else input.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = where(input != input, xp.asarray(nan, input.dtype), input)
    out = where(input == float("inf"), xp.asarray(hi, input.dtype), out)
    return where(input == float("-inf"), xp.asarray(lo, input.dtype), out)


def logaddexp(input: Any, other: Any) -> Tensor:
    """ln(eˣ + eʸ), computed as max + ln(1 + e^−|x−y|) so it never overflows.

    Example:
        >>> import chainrule as cr
        >>> cr.logaddexp(cr.tensor([0.0, 1000.0]), cr.tensor([0.0, 1000.0])).tolist()
        [0.6931471824645996, 1000.6931762695312]
    """
    top = maximum(input, other)
    return top + (-(sub(input, other).abs())).exp().log1p()


def logaddexp2(input: Any, other: Any) -> Tensor:
    """log₂(2ˣ + 2ʸ), computed as max + log₂(1 + 2^−|x−y|).

    Example:
        >>> import chainrule as cr
        >>> cr.logaddexp2(cr.tensor([1.0, 3.0]), cr.tensor([1.0, 3.0]))
        tensor([2., 4.])
    """
    top = maximum(input, other)
    return top + exp2(-(sub(input, other).abs())).log1p() / math.log(2)


def fmax(input: Tensor, other: Any) -> Tensor:
    """Elementwise maximum that ignores NaN: the other value where one is NaN.

    Example:
        >>> import chainrule as cr
        >>> cr.fmax(cr.tensor([1.0, float("nan")]), cr.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    return _nan_ignoring(maximum, input, other)


def fmin(input: Tensor, other: Any) -> Tensor:
    """Elementwise minimum that ignores NaN (see ``fmax``).

    Example:
        >>> import chainrule as cr
        >>> cr.fmin(cr.tensor([1.0, float("nan")]), cr.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    return _nan_ignoring(minimum, input, other)


def _nan_ignoring(fn: Any, a: Any, b: Any) -> Tensor:
    out = fn(a, b)
    a_nan, b_nan = a != a, b != b
    return where(a_nan, b, where(b_nan, a, out)) if is_floating(out.dtype) else out


def sinc(input: Tensor) -> Tensor:
    """sin(πx)/(πx), 1 at x = 0.

    Example:
        >>> import chainrule as cr
        >>> cr.sinc(cr.tensor([0.0, 0.5]))
        tensor([1.0000, 0.6366])
    """
    x = input if is_floating(input.dtype) else input.to(default_float())
    zero = x == 0
    px = where(zero, xp.ones((), x.dtype), x) * math.pi
    return where(zero, xp.ones((), x.dtype), px.sin() / px)


def float_power(input: Any, exponent: Any) -> Tensor:
    """input ** exponent computed in float64 (PyTorch's ``float_power``).

    Example:
        >>> import chainrule as cr
        >>> y = cr.float_power(cr.tensor([2, 3]), 2)
        >>> y.tolist(), y.dtype == cr.float64
        ([4.0, 9.0], True)
    """
    def wide(v: Any) -> Any:
        return v.to(xp.float64) if isinstance(v, Tensor) else float(v)

    return pow(wide(input), wide(exponent))


def copysign(input: Any, other: Any) -> Tensor:
    """|input| with the sign of ``other`` (−0.0 counts as negative).

    Example:
        >>> import chainrule as cr
        >>> cr.copysign(cr.tensor([1.0, -2.0]), cr.tensor([-0.0, 3.0]))
        tensor([-1.,  2.])
    """
    x = input if isinstance(input, Tensor) else Tensor._wrap(xp.asarray(input,
                                                                       default_float()))
    y = other.array if isinstance(other, Tensor) else xp.asarray(other)
    if not is_floating(x.dtype):
        x = x.to(default_float())
    negative = Tensor._wrap(xp.signbit(y))
    return where(negative, -x.abs(), x.abs())


def ldexp(input: Tensor, other: Any) -> Tensor:
    """input · 2^other.

    Example:
        >>> import chainrule as cr
        >>> cr.ldexp(cr.tensor([1.0, 3.0]), cr.tensor([2, -1]))
        tensor([4.0000, 1.5000])
    """
    x = input if is_floating(input.dtype) else input.to(default_float())
    return mul(x, exp2(other if isinstance(other, Tensor) else Tensor._wrap(xp.asarray(other))))


def heaviside(input: Tensor, values: Any) -> Tensor:
    """0 where x < 0, 1 where x > 0, ``values`` where x = 0; no gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.heaviside(cr.tensor([-1.0, 0.0, 2.0]), cr.tensor(0.5))
        tensor([0.0000, 0.5000, 1.0000])
    """
    v = values.array if isinstance(values, Tensor) else xp.asarray(values)
    return Tensor._wrap(xp.heaviside(input.array, v).astype(result_type(input.array, v)))


def square(input: Tensor) -> Tensor:
    """x².

    Example:
        >>> import chainrule as cr
        >>> cr.square(cr.tensor([-2.0, 3.0]))
        tensor([4., 9.])
    """
    return mul(input, input)
