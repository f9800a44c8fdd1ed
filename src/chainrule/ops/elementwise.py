"""Elementwise ops: arithmetic, unary maths, activations, comparisons, casts.

Each primitive states its derivative in its docstring; the engine reduces broadcast gradients.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.autograd import forward_ad
from chainrule.autograd.function import Op, register
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import Array, xp
from chainrule.tensor import Tensor, tensor_method


def _not_broadcastable(op: Op, *xs: Array) -> RuntimeError:
    shapes = " and ".join(str(tuple(x.shape)) for x in xs)
    return RuntimeError(f"{op.name}: shapes {shapes} cannot be broadcast together")


def _dtype_of_true_div(a: Array, b: Array) -> Any:
    return None if a.dtype.kind == "f" or b.dtype.kind == "f" else xp.float32


# ---- binary arithmetic ------------------------------------------------------------------------
@register
class Add(Op):
    """a + b.  ∂/∂a = g, ∂/∂b = g;  tangent ȧ + ḃ."""

    name = "add"
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
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
    saves_inputs = False

    def forward(self, a: Array, b: Array) -> Array:
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

    def forward(self, a: Array, b: Array) -> Array:
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

    def forward(self, a: Array, b: Array) -> Array:
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

    def forward(self, a: Array, b: Array) -> Array:
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
        if na and not b.data.all():  # d/da a⁰ = 0, also at a = 0 (not 0·0⁻¹ = nan)
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

    def forward(self, a: Array, b: Array) -> Array:
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
        wa = (a.data > b.data) + 0.5 * (a.data == b.data)
        return Tensor._wrap(wa.astype(xp.result_type(a.data, b.data), copy=False))


@register
class Minimum(Maximum):
    """min(a, b) elementwise.  The gradient goes to the smaller input; ties split it equally."""

    name = "minimum"

    def forward(self, a: Array, b: Array) -> Array:
        try:
            return xp.minimum(a, b)
        except ValueError:
            raise _not_broadcastable(self, a, b) from None

    def _weight_a(self) -> Tensor:
        a, b = self.inputs
        wa = (a.data < b.data) + 0.5 * (a.data == b.data)
        return Tensor._wrap(wa.astype(xp.result_type(a.data, b.data), copy=False))


@register
class Where(Op):
    """cond ? a : b.  ∂/∂a = g·cond, ∂/∂b = g·¬cond; cond gets no gradient."""

    name = "where"

    def forward(self, cond: Array, a: Array, b: Array) -> Array:
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


# ---- unary maths ------------------------------------------------------------------------------
class _Unary(Op):
    """A unary op with derivative ``deriv(x, y)`` of input x and output y: ∂/∂x = g·deriv,
    tangent ẋ·deriv.

    ``deriv`` receives raw arrays in a plain backward (cheap: no graph ops) and Tensors when the
    backward is recorded or forward mode is on, so its formula must work with both.
    """

    def deriv(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if _mode.enabled or forward_ad.levels:
            return (g * self.deriv(self.inputs[0], self.output()),)
        return (g * self.deriv(self.inputs[0].data, self.out),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t * self.deriv(self.inputs[0], self.output())


@register
class Neg(Op):
    """−x.  ∂/∂x = −g."""

    name = "neg"
    saves_inputs = False

    def forward(self, x: Array) -> Array:
        return -x

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (-g,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return -t


@register
class Exp(_Unary):
    """eˣ.  ∂/∂x = g·eˣ."""

    name = "exp"

    def forward(self, x: Array) -> Array:
        return xp.exp(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return y


@register
class Log(_Unary):
    """ln x.  ∂/∂x = g/x."""

    name = "log"

    def forward(self, x: Array) -> Array:
        return xp.log(x)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g / self.inputs[0],)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t / self.inputs[0]


@register
class Log1p(_Unary):
    """ln(1 + x).  ∂/∂x = g/(1 + x)."""

    name = "log1p"

    def forward(self, x: Array) -> Array:
        return xp.log1p(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 / (1 + x)


@register
class Expm1(_Unary):
    """eˣ − 1.  ∂/∂x = g·eˣ."""

    name = "expm1"

    def forward(self, x: Array) -> Array:
        return xp.expm1(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return y + 1


@register
class Sqrt(_Unary):
    """√x.  ∂/∂x = g/(2√x)."""

    name = "sqrt"

    def forward(self, x: Array) -> Array:
        return xp.sqrt(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 0.5 / y


@register
class Rsqrt(_Unary):
    """1/√x.  ∂/∂x = −g/(2 x^{3/2})."""

    name = "rsqrt"

    def forward(self, x: Array) -> Array:
        return 1 / xp.sqrt(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return -0.5 * y ** 3


@register
class Sin(_Unary):
    """sin x.  ∂/∂x = g·cos x."""

    name = "sin"

    def forward(self, x: Array) -> Array:
        return xp.sin(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return _on(x, xp.cos, cos)


@register
class Cos(_Unary):
    """cos x.  ∂/∂x = −g·sin x."""

    name = "cos"

    def forward(self, x: Array) -> Array:
        return xp.cos(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return -_on(x, xp.sin, sin)


@register
class Tan(_Unary):
    """tan x.  ∂/∂x = g·(1 + tan² x)."""

    name = "tan"

    def forward(self, x: Array) -> Array:
        return xp.tan(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 + y * y


@register
class Tanh(_Unary):
    """tanh x.  ∂/∂x = g·(1 − tanh² x)."""

    name = "tanh"

    def forward(self, x: Array) -> Array:
        return xp.tanh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 - y * y


@register
class Sigmoid(_Unary):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow.  ∂/∂x = g·σ(x)(1 − σ(x))."""

    name = "sigmoid"

    def forward(self, x: Array) -> Array:
        # NOTE: with e = e^(−|x|) ≤ 1, σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) below: never
        # overflows and keeps full relative precision for very negative x (σ(−40) ≈ 4e-18, where
        # 0.5·(1 + tanh(x/2)) cancels to 0).
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    def deriv(self, x: Any, y: Any) -> Any:
        return y * (1 - y)


@register
class Erf(_Unary):
    """The error function.  ∂/∂x = g·(2/√π)·e^(−x²).

    NOTE: a primitive because NumPy has no erf; computed with Abramowitz & Stegun 7.1.26
    (absolute error < 1.5e-7, below float32 resolution around 1).
    """

    name = "erf"

    def forward(self, x: Array) -> Array:
        s = xp.sign(x)
        a = xp.abs(x)
        t = 1 / (1 + 0.3275911 * a)
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
            -1.453152027 + t * 1.061405429))))
        return (s * (1 - poly * xp.exp(-a * a))).astype(x.dtype, copy=False)

    def deriv(self, x: Any, y: Any) -> Any:
        return (2 / math.sqrt(math.pi)) * _on(-(x * x), xp.exp, exp)


@register
class Relu(_Unary):
    """max(x, 0).  ∂/∂x = g where x > 0, else 0."""

    name = "relu"

    def forward(self, x: Array) -> Array:
        return xp.maximum(x, 0)

    def deriv(self, x: Any, y: Any) -> Any:
        return _data(x) > 0


@register
class LeakyRelu(_Unary):
    """x if x > 0 else slope·x.  ∂/∂x = g·(1 or slope)."""

    name = "leaky_relu"
    negative_slope: float

    def forward(self, x: Array) -> Array:
        return xp.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def deriv(self, x: Any, y: Any) -> Any:
        x = _data(x)
        return xp.where(x > 0, 1, self.negative_slope).astype(x.dtype)


@register
class Elu(_Unary):
    """x if x > 0 else α(eˣ − 1).  ∂/∂x = g·(1 or out + α)."""

    name = "elu"
    alpha: float

    def forward(self, x: Array) -> Array:
        return xp.where(x > 0, x, self.alpha * xp.expm1(xp.minimum(x, 0))).astype(x.dtype)

    def deriv(self, x: Any, y: Any) -> Any:
        if isinstance(x, Tensor):
            return where(x > 0, 1.0, y + self.alpha)
        return xp.where(x > 0, 1, y + self.alpha).astype(x.dtype)


@register
class Softplus(_Unary):
    """(1/β)·ln(1 + e^(βx)), linear above ``threshold``.  ∂/∂x = g·σ(βx)."""

    name = "softplus"
    beta: float
    threshold: float

    def forward(self, x: Array) -> Array:
        bx = x * self.beta
        soft = (xp.maximum(bx, 0) + xp.log1p(xp.exp(-xp.abs(bx)))) / self.beta
        return xp.where(bx > self.threshold, x, soft).astype(x.dtype)

    def deriv(self, x: Any, y: Any) -> Any:
        bx = x * self.beta
        if isinstance(x, Tensor):
            return where(bx > self.threshold, 1.0, sigmoid(bx))
        return xp.where(bx > self.threshold, 1, 0.5 * (1 + xp.tanh(0.5 * bx))).astype(x.dtype)


@register
class Abs(_Unary):
    """|x|.  ∂/∂x = g·sign x (0 at 0)."""

    name = "abs"

    def forward(self, x: Array) -> Array:
        return xp.abs(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return xp.sign(_data(x))


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


class _Piecewise(_Unary):
    """An op whose derivative is zero almost everywhere (sign, floor, ceil, round)."""

    saves_inputs = False

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g * 0,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t * 0


@register
class Sign(_Piecewise):
    """sign x; zero gradient."""

    name = "sign"

    def forward(self, x: Array) -> Array:
        return xp.sign(x)


@register
class Floor(_Piecewise):
    """⌊x⌋; zero gradient."""

    name = "floor"

    def forward(self, x: Array) -> Array:
        return xp.floor(x)


@register
class Ceil(_Piecewise):
    """⌈x⌉; zero gradient."""

    name = "ceil"

    def forward(self, x: Array) -> Array:
        return xp.ceil(x)


@register
class Round(_Piecewise):
    """x rounded half to even (``decimals`` places); zero gradient."""

    name = "round"
    decimals: int

    def forward(self, x: Array) -> Array:
        return xp.round(x, self.decimals)


@register
class Cast(Op):
    """x converted to ``dtype``; the gradient is cast back (none into or out of integers)."""

    name = "cast"
    saves_inputs = False
    dtype: Any

    def forward(self, x: Array) -> Array:
        return x.astype(self.dtype)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0]
        return (g.to(x.dtype) if self.dtype.kind == "f" else None,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t.to(self.dtype) if self.dtype.kind == "f" else None


@register
class Clone(Op):
    """A copy of x.  ∂/∂x = g."""

    name = "clone"
    saves_inputs = False

    def forward(self, x: Array) -> Array:
        return x.copy()

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t


def _on(x: Any, array_fn: Any, tensor_fn: Any) -> Any:
    """``array_fn(x)`` for an array, ``tensor_fn(x)`` for a Tensor (see ``_Unary.deriv``)."""
    return tensor_fn(x) if isinstance(x, Tensor) else array_fn(x)


def _data(x: Any) -> Array:
    return x.data if isinstance(x, Tensor) else x


# ---- non-differentiable elementwise -----------------------------------------------------------
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
@tensor_method
def add(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input + alpha · other, broadcasting."""
    return Add.apply(input, other if alpha == 1 else mul(other, alpha))


@tensor_method
def sub(input: Any, other: Any, alpha: float = 1) -> Tensor:
    """input − alpha · other, broadcasting."""
    return Sub.apply(input, other if alpha == 1 else mul(other, alpha))


@tensor_method
def mul(input: Any, other: Any) -> Tensor:
    """input · other elementwise, broadcasting."""
    return Mul.apply(input, other)


@tensor_method
def div(input: Any, other: Any) -> Tensor:
    """input / other (true division), broadcasting."""
    return Div.apply(input, other)


@tensor_method
def pow(input: Any, exponent: Any) -> Tensor:
    """input ** exponent, broadcasting."""
    return Pow.apply(input, exponent)


@tensor_method
def maximum(input: Any, other: Any) -> Tensor:
    """Elementwise maximum; the gradient is split equally on ties."""
    return Maximum.apply(input, other)


@tensor_method
def minimum(input: Any, other: Any) -> Tensor:
    """Elementwise minimum; the gradient is split equally on ties."""
    return Minimum.apply(input, other)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (broadcasting)."""
    if not isinstance(condition, Tensor):
        condition = Tensor._wrap(xp.asarray(condition, bool))
    if not isinstance(input, Tensor) and isinstance(other, Tensor):
        input = Tensor._wrap(xp.asarray(input, other.dtype))
    if not isinstance(other, Tensor) and isinstance(input, Tensor):
        other = Tensor._wrap(xp.asarray(other, input.dtype))
    return Where.apply(condition, input, other)


def _unary(op: type[Op]) -> Any:
    def fn(input: Tensor) -> Tensor:
        return op.apply(input)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__doc__ = op.__doc__
    return tensor_method(fn)


neg = _unary(Neg)
negative = neg
exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
sqrt = _unary(Sqrt)
rsqrt = _unary(Rsqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tan = _unary(Tan)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)
relu = _unary(Relu)
abs = _unary(Abs)
sign = _unary(Sign)
floor = _unary(Floor)
ceil = _unary(Ceil)
clone = _unary(Clone)
isnan = _unary(Isnan)
isfinite = _unary(Isfinite)
logical_not = _unary(LogicalNot)


@tensor_method
def round(input: Tensor, decimals: int = 0) -> Tensor:
    """Round half to even to ``decimals`` places; zero gradient."""
    return Round.apply(input, decimals=decimals)


@tensor_method
def cast(input: Tensor, dtype: Any) -> Tensor:
    """``input`` converted to ``dtype`` (a no-op when it already has it). Only floating results
    carry gradients: an integer or bool cast is a constant, as in PyTorch."""
    dtype = xp.dtype(dtype)
    if input.dtype == dtype:
        return input
    if dtype.kind != "f":
        return Tensor._wrap(input.data.astype(dtype))
    return Cast.apply(input, dtype=dtype)


@tensor_method
def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope · x."""
    return LeakyRelu.apply(input, negative_slope=negative_slope)


@tensor_method
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha · (eˣ − 1)."""
    return Elu.apply(input, alpha=alpha)


@tensor_method
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) ln(1 + e^(βx)), reverting to x where βx > threshold."""
    return Softplus.apply(input, beta=beta, threshold=threshold)


@tensor_method
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; tensor bounds broadcast."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else maximum(input, min)
        return out if max is None else minimum(out, max)
    return Clamp.apply(input, lo=min, hi=max)


clip = clamp


@tensor_method
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate='tanh'``: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))))."""
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (input + 0.044715 * input ** 3)
        return 0.5 * input * (1 + tanh(inner))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * input * (1 + erf(input * (1 / math.sqrt(2))))


@tensor_method
def silu(input: Tensor) -> Tensor:
    """x·σ(x) (swish)."""
    return input * sigmoid(input)


@tensor_method
def reciprocal(input: Tensor) -> Tensor:
    """1/x."""
    return div(1.0, input)


@tensor_method
def square(input: Tensor) -> Tensor:
    """x²."""
    return mul(input, input)


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

