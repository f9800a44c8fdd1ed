"""Unary maths: neg, exp and log (with log1p/expm1), sqrt/rsqrt, sin/cos/tan, tanh, erf, abs,
the piecewise-constant sign/floor/ceil/round, and cast/clone.

Each primitive states its derivative in its docstring. ``_Unary`` turns one ``deriv(x, y)`` formula
into both the backward and the forward-mode rule (the activations in ``activation.py`` and
``clamp`` in ``elementwise.py`` are ``_Unary`` ops too); ``unary_function`` makes an op's public
function.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from chainrule.autograd import tangents
from chainrule.autograd.function import Op, register
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import Array, default_float, is_floating, xp
from chainrule.backend import bfloat16 as bfloat16_dtype
from chainrule.ops import batching, special
from chainrule.tensor import Tensor


class _Unary(Op):
    """A unary op with derivative ``deriv(x, y)`` of input x and output y: ∂/∂x = g·deriv,
    tangent ẋ·deriv.

    ``deriv`` receives raw arrays in a plain backward (cheap: no graph ops) and Tensors when the
    backward is recorded or forward mode is on, so its formula must work with both.
    """

    batch_rule = staticmethod(batching.elementwise)

    floating: ClassVar[bool] = True
    """Integer and bool inputs compute in the default float dtype (float32), as in PyTorch
    (``cr.exp(cr.arange(3))``)."""

    def deriv(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if _mode.enabled or tangents.levels:
            return (g * self.deriv(self.inputs[0], self.output()),)
        return (g * self.deriv(self.inputs[0].array, self.out),)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t * self.deriv(self.inputs[0], self.output())


@register
class Neg(Op):
    """−x.  ∂/∂x = −g.

    Example:
        >>> import chainrule as cr
        >>> cr.neg(cr.tensor([1.0, -2.0]))
        tensor([-1.,  2.])
    """

    name = "neg"
    scalar = "-x"
    scalar_grad = ("-g",)
    batch_rule = staticmethod(batching.elementwise)
    saves_inputs = False

    def forward(self, x: Array) -> Array:
        return -x

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (-g,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return -t


@register
class Exp(_Unary):
    """eˣ.  ∂/∂x = g·eˣ.

    Example:
        >>> import chainrule as cr
        >>> cr.exp(cr.tensor([0.0, 1.0]))
        tensor([1.0000, 2.7183])
    """

    name = "exp"
    scalar = "exp(x)"
    scalar_grad = ("g * y",)

    def forward(self, x: Array) -> Array:
        return xp.exp(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return y


@register
class Log(_Unary):
    """ln x.  ∂/∂x = g/x.

    Example:
        >>> import chainrule as cr
        >>> cr.log(cr.tensor([1.0, 2.718281828]))
        tensor([0., 1.])
    """

    name = "log"
    scalar = "log(x)"
    scalar_grad = ("g / x",)

    def forward(self, x: Array) -> Array:
        return xp.log(x)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g / self.inputs[0],)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t / self.inputs[0]


@register
class Log1p(_Unary):
    """ln(1 + x).  ∂/∂x = g/(1 + x).

    Example:
        >>> import chainrule as cr
        >>> cr.log1p(cr.tensor([0.0, 1e-10]))
        tensor([0.0000e+00, 1.0000e-10])
    """

    name = "log1p"

    def forward(self, x: Array) -> Array:
        return xp.log1p(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 / (1 + x)


@register
class Expm1(_Unary):
    """eˣ − 1.  ∂/∂x = g·eˣ.

    Example:
        >>> import chainrule as cr
        >>> cr.expm1(cr.tensor([0.0, 1e-10]))
        tensor([0.0000e+00, 1.0000e-10])
    """

    name = "expm1"

    def forward(self, x: Array) -> Array:
        return xp.expm1(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return y + 1


@register
class Sqrt(_Unary):
    """√x.  ∂/∂x = g/(2√x).

    Example:
        >>> import chainrule as cr
        >>> cr.sqrt(cr.tensor([4.0, 9.0]))
        tensor([2., 3.])
    """

    name = "sqrt"

    def forward(self, x: Array) -> Array:
        return xp.sqrt(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 0.5 / y


@register
class Rsqrt(_Unary):
    """1/√x.  ∂/∂x = −g/(2 x^{3/2}).

    Example:
        >>> import chainrule as cr
        >>> cr.rsqrt(cr.tensor([4.0, 16.0]))
        tensor([0.5000, 0.2500])
    """

    name = "rsqrt"

    def forward(self, x: Array) -> Array:
        return 1 / xp.sqrt(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return -0.5 * y ** 3


@register
class Sin(_Unary):
    """sin x.  ∂/∂x = g·cos x.

    Example:
        >>> import chainrule as cr
        >>> cr.sin(cr.tensor([0.0, 1.5707963]))
        tensor([0., 1.])
    """

    name = "sin"

    def forward(self, x: Array) -> Array:
        return xp.sin(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return _on(x, xp.cos, cos)


@register
class Cos(_Unary):
    """cos x.  ∂/∂x = −g·sin x.

    Example:
        >>> import chainrule as cr
        >>> cr.cos(cr.tensor([0.0, 3.14159265]))
        tensor([ 1., -1.])
    """

    name = "cos"

    def forward(self, x: Array) -> Array:
        return xp.cos(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return -_on(x, xp.sin, sin)


@register
class Tan(_Unary):
    """tan x.  ∂/∂x = g·(1 + tan² x).

    Example:
        >>> import chainrule as cr
        >>> cr.tan(cr.tensor([0.0, 0.7853982]))
        tensor([0., 1.])
    """

    name = "tan"

    def forward(self, x: Array) -> Array:
        return xp.tan(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 + y * y


@register
class Tanh(_Unary):
    """tanh x.  ∂/∂x = g·(1 − tanh² x).

    Example:
        >>> import chainrule as cr
        >>> cr.tanh(cr.tensor([-100.0, 0.0, 0.5]))
        tensor([-1.0000,  0.0000,  0.4621])
    """

    name = "tanh"
    scalar = "tanh(x)"
    scalar_grad = ("g * (1 - y * y)",)

    def forward(self, x: Array) -> Array:
        return xp.tanh(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return 1 - y * y


@register
class Erf(_Unary):
    """The error function.  ∂/∂x = g·(2/√π)·e^(−x²).

    NOTE: a primitive because NumPy has no erf; the values come from ``special.erf``.

    Example:
        >>> import chainrule as cr
        >>> cr.erf(cr.tensor([0.0, 1.0, -1.0]))
        tensor([ 0.0000,  0.8427, -0.8427])
    """

    name = "erf"

    def forward(self, x: Array) -> Array:
        return special.erf(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return (2 / math.sqrt(math.pi)) * _on(-(x * x), xp.exp, exp)


@register
class Abs(_Unary):
    """|x|.  ∂/∂x = g·sign x (0 at 0).

    Example:
        >>> import chainrule as cr
        >>> cr.abs(cr.tensor([-1.5, 0.0, 2.0]))
        tensor([1.5000, 0.0000, 2.0000])
    """

    name = "abs"
    floating = False

    def forward(self, x: Array) -> Array:
        return xp.abs(x)

    def deriv(self, x: Any, y: Any) -> Any:
        return xp.sign(_data(x))


class _Piecewise(_Unary):
    """An op whose derivative is zero almost everywhere (sign, floor, ceil, round)."""

    saves_inputs = False
    floating = False

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        return (g * 0,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t * 0


@register
class Sign(_Piecewise):
    """sign x, 0 for NaN as in PyTorch ((x > 0) − (x < 0)); zero gradient.

    Example:
        >>> import chainrule as cr
        >>> import math
        >>> cr.sign(cr.tensor([-2.0, 0.0, 3.0, math.nan]))
        tensor([-1.,  0.,  1.,  0.])
    """

    name = "sign"

    def forward(self, x: Array) -> Array:
        out = xp.sign(x)
        return xp.where(out == out, out, 0).astype(out.dtype) if is_floating(out.dtype) else out


@register
class Floor(_Piecewise):
    """⌊x⌋; zero gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.floor(cr.tensor([-1.5, 0.2, 2.0]))
        tensor([-2.,  0.,  2.])
    """

    name = "floor"

    def forward(self, x: Array) -> Array:
        return xp.floor(x)


@register
class Ceil(_Piecewise):
    """⌈x⌉; zero gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.ceil(cr.tensor([-1.5, 0.2, 2.0]))
        tensor([-1.,  1.,  2.])
    """

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
    batch_rule = staticmethod(batching.elementwise)
    saves_inputs = False
    dtype: Any

    def forward(self, x: Array) -> Array:
        return x.astype(self.dtype)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0]
        return (g.to(x.dtype) if is_floating(self.dtype) else None,)

    def jvp(self, t: Tensor | None) -> Tensor | None:
        return t.to(self.dtype) if is_floating(self.dtype) else None


@register
class Clone(Op):
    """A copy of x.  ∂/∂x = g.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0])
        >>> y = cr.clone(x)
        >>> y[0] = 5.0
        >>> x, y
        (tensor([1., 2.]), tensor([5., 2.]))
    """

    name = "clone"
    batch_rule = staticmethod(batching.elementwise)
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
    return x.array if isinstance(x, Tensor) else x


# ---- public functions (also Tensor methods) ---------------------------------------------------
def unary_function(op: type[Op]) -> Any:
    """The public function of the one-input op ``op`` (``exp(input)``), made once per op: integer
    and bool inputs of a ``floating`` op compute in the default float dtype."""
    fn = _FUNCTIONS.get(op)
    if fn is not None:
        return fn
    if getattr(op, "floating", False):
        def fn(input: Tensor) -> Tensor:
            if input.dtype.kind in "biu":
                input = cast(input, default_float())
            return op.apply(input)
    else:
        def fn(input: Tensor) -> Tensor:
            return op.apply(input)

    fn.__name__ = fn.__qualname__ = op.name
    fn.__module__ = "chainrule"  # its public home (as torch.exp's is torch); pickles by name
    fn.__doc__ = op.__doc__
    _FUNCTIONS[op] = fn
    return fn


_FUNCTIONS: dict[type[Op], Any] = {}


neg = unary_function(Neg)
negative = neg
exp = unary_function(Exp)
log = unary_function(Log)
log1p = unary_function(Log1p)
expm1 = unary_function(Expm1)
sqrt = unary_function(Sqrt)
rsqrt = unary_function(Rsqrt)
sin = unary_function(Sin)
cos = unary_function(Cos)
tan = unary_function(Tan)
tanh = unary_function(Tanh)
erf = unary_function(Erf)
abs = unary_function(Abs)
sign = unary_function(Sign)
floor = unary_function(Floor)
ceil = unary_function(Ceil)
clone = unary_function(Clone)


def round(input: Tensor, decimals: int = 0) -> Tensor:
    """Round half to even to ``decimals`` places; zero gradient.

    Example:
        >>> import chainrule as cr
        >>> cr.round(cr.tensor([0.5, 1.5, 2.567]))
        tensor([0., 2., 3.])
        >>> cr.round(cr.tensor([2.567]), decimals=2)
        tensor([2.5700])
    """
    return Round.apply(input, decimals=decimals)


def erfc(input: Tensor) -> Tensor:
    """1 − erf(x).

    Example:
        >>> import chainrule as cr
        >>> cr.erfc(cr.tensor([0.0, 1.0]))
        tensor([1.0000, 0.1573])
    """
    return 1 - erf(input)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 − x)), x first clamped to [eps, 1 − eps] when ``eps`` is given.

    Example:
        >>> import chainrule as cr
        >>> cr.logit(cr.tensor([0.5, 0.75]))
        tensor([0.0000, 1.0986])
    """
    x = input if eps is None else input.clamp(eps, 1 - eps)
    return log(x / (1 - x))


def sgn(input: Tensor) -> Tensor:
    """The sign of x (``sign``; PyTorch's name for real and complex tensors alike).

    Example:
        >>> import chainrule as cr
        >>> cr.sgn(cr.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    return sign(input)


def deg2rad(input: Tensor) -> Tensor:
    """x · π/180.

    Example:
        >>> import chainrule as cr
        >>> cr.deg2rad(cr.tensor([180.0]))
        tensor([3.1416])
    """
    return input * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """x · 180/π.

    Example:
        >>> import chainrule as cr
        >>> cr.rad2deg(cr.tensor([math.pi / 2]))
        tensor([90.])
    """
    return input * (180 / math.pi)


def cast(input: Tensor, dtype: Any) -> Tensor:
    """``input`` converted to ``dtype`` (a no-op when it already has it). Only floating results
    carry gradients: an integer or bool cast is a constant, as in PyTorch."""
    dtype = xp.dtype(dtype)
    if input.dtype == dtype:
        return input
    if not is_floating(dtype):  # a constant; an op for a batched tensor (vmap), not its array
        if type(input) is Tensor:
            return Tensor._wrap(input.array.astype(dtype))
        return Cast.apply(input.detach(), dtype=dtype)
    return Cast.apply(input, dtype=dtype)


def bfloat16(input: Tensor) -> Tensor:
    """``input`` cast to bfloat16 (``Tensor.bfloat16()``; storage from the optional ``ml_dtypes``
    package). Kept beside ``cast`` rather than with ``float()``/``double()`` in tensor.py, whose
    line budget is spent."""
    return cast(input, bfloat16_dtype())
