"""Activations: sigmoid, relu, leaky_relu, elu, softplus and gelu (primitives), silu
(composite).

Each primitive states its derivative in its docstring; ``_Unary`` (``unary.py``) supplies the
backward and forward-mode rules from it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from chainrule import kernels
from chainrule.autograd import tangents
from chainrule.autograd.function import register
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import Array, is_floating, xp
from chainrule.ops import special
from chainrule.ops.elementwise import where
from chainrule.ops.unary import _data, _Unary, erf, exp, tanh, unary_function
from chainrule.tensor import Tensor


@register
class Sigmoid(_Unary):
    """σ(x) = 1/(1 + e⁻ˣ), computed without overflow.  ∂/∂x = g·σ(x)(1 − σ(x)).

    Example:
        >>> import chainrule as cr
        >>> cr.sigmoid(cr.tensor([0.0, 100.0, -100.0]))
        tensor([5.0000e-01, 1.0000e+00, 3.7835e-44])
    """

    name = "sigmoid"
    scalar = "(1.0 if x >= 0 else exp(-abs(x))) / (1 + exp(-abs(x)))"
    scalar_grad = ("g * (y * (1 - y))",)

    def forward(self, x: Array) -> Array:
        # NOTE: with e = e^(−|x|) ≤ 1, σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) below: never
        # overflows and keeps full relative precision for very negative x (σ(−40) ≈ 4e-18, where
        # 0.5·(1 + tanh(x/2)) cancels to 0).
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1, e) / (1 + e)

    def deriv(self, x: Any, y: Any) -> Any:
        return y * (1 - y)


@register
class Relu(_Unary):
    """max(x, 0).  ∂/∂x = g where x > 0, else 0.

    Example:
        >>> import chainrule as cr
        >>> cr.relu(cr.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """

    name = "relu"
    scalar = "x if x > 0 else 0 * x"
    scalar_grad = ("g if x > 0 else 0 * g",)
    floating = False

    def forward(self, x: Array) -> Array:
        if kernels.fits(x):
            y = kernels.activation.relu(x)
            if y is not None:
                return y
        return xp.maximum(x, 0)

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        x = self.inputs[0].array
        if not (_mode.enabled or tangents.levels) and type(g) is Tensor \
                and kernels.fits(x, g.array):  # (not batched: vmap)
            gx = kernels.activation.relu_backward(x, g.array)
            if gx is not None:
                return (Tensor._wrap(gx),)
        return super().backward(g)

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


_SQRT_2_PI = math.sqrt(2 / math.pi)


@register
class Gelu(_Unary):
    """x·Φ(x), Φ the standard normal CDF.  ∂/∂x = g·(Φ(x) + x·φ(x)).  With
    ``approximate='tanh'``: ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)),
    ∂/∂x = g·(½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)).

    NOTE: a primitive for speed: as a composite GELU was ~6 graph nodes and a backward that
    recomputed erf; here the forward keeps Φ(x) and e^(−x²/2) (or ½(1 + t)) for the
    backward.
    """

    name = "gelu"
    approximate: str

    def forward(self, x: Array) -> Array:
        if kernels.fits(x):  # one compiled pass; the backward recomputes Φ (self.cdf None)
            self.cdf = None
            return kernels.activation.gelu(x, self.approximate)
        if self.approximate == "tanh":  # (out=: an array even for 0-d x, to update in place)
            cdf = xp.multiply(x, x, out=xp.empty_like(x))
            cdf *= 0.044715
            cdf += 1
            cdf *= x
            cdf *= _SQRT_2_PI
            xp.tanh(cdf, out=cdf)
            cdf += 1
            cdf *= 0.5
        else:
            cdf, self.gauss = special.normal_cdf(x)  # gauss = e^(−x²/2), for the backward
        self.cdf = cdf
        return x * cdf

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        if self.cdf is None:  # the forward ran the kernel and kept nothing
            if _mode.enabled or tangents.levels or type(g) is not Tensor:  # (batched: vmap)
                return (g * self.deriv(self.inputs[0], None),)
            x = self.inputs[0].array
            gx = kernels.activation.gelu_backward(x, g.array.astype(x.dtype, copy=False),
                                                  self.approximate)
            return (Tensor._wrap(gx),)
        return super().backward(g)

    def deriv(self, x: Any, y: Any) -> Any:
        if isinstance(x, Tensor):  # recorded backward or forward mode: differentiable formula
            if self.approximate == "tanh":
                t = tanh(_SQRT_2_PI * (x + 0.044715 * x ** 3))
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (
                    _SQRT_2_PI * (1 + 3 * 0.044715 * x * x))
            return (0.5 * (1 + erf(x * (1 / math.sqrt(2))))
                    + x * exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)))
        cdf = self.cdf
        if self.approximate == "tanh":  # ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
            d = xp.multiply(x, x, out=xp.empty_like(x))
            d *= 3 * 0.044715
            d += 1
            d *= _SQRT_2_PI * 2
            d *= x
            d *= cdf
            d *= 1 - cdf  # ½(1 − t²) = 2·cdf·(1 − cdf)
            return d + cdf
        d = xp.multiply(x, self.gauss, out=xp.empty_like(x))  # Φ(x) + x·φ(x)
        d *= 1 / math.sqrt(2 * math.pi)
        d += cdf
        return d


# ---- input checks ----------------------------------------------------------------------------
def _refusing(accepts: Callable[[Any], bool], why: str) -> Callable[..., Any]:
    """A decorator that refuses a tensor input whose dtype ``accepts`` rejects, naming the
    function, as PyTorch's kernels do for dtypes they are not implemented for."""
    def decorate(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        name = fn.__name__

        @functools.wraps(fn)
        def checked(input: Any, *args: Any, **kwargs: Any) -> Tensor:
            if isinstance(input, Tensor) and not accepts(input.dtype):
                raise RuntimeError(f"{name}: not implemented for dtype {input.dtype} ({why})")
            return fn(input, *args, **kwargs)
        return checked
    return decorate


floating_input = _refusing(is_floating, "floating-point input only")
"""Refuse integer and bool input instead of computing a silently truncated integer result."""
numeric_input = _refusing(lambda dtype: dtype.kind != "b", "bool input is not supported")
"""Refuse bool input, as PyTorch does for the clamping activations (relu, hardtanh, ...)."""


# ---- public functions (also Tensor methods) ---------------------------------------------------
sigmoid = unary_function(Sigmoid)
relu = numeric_input(unary_function(Relu))


@floating_input
def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope · x.

    Example:
        >>> import chainrule as cr
        >>> cr.leaky_relu(cr.tensor([-2.0, 3.0]), 0.1)
        tensor([-0.2000,  3.0000])
    """
    return LeakyRelu.apply(input, negative_slope=negative_slope)


@floating_input
def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha · (eˣ − 1).

    Example:
        >>> import chainrule as cr
        >>> cr.elu(cr.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.6321,  0.0000,  2.0000])
    """
    return Elu.apply(input, alpha=alpha)


@floating_input
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) ln(1 + e^(βx)), reverting to x where βx > threshold.

    Example:
        >>> import chainrule as cr
        >>> cr.softplus(cr.tensor([-10.0, 0.0, 10.0]))
        tensor([4.5399e-05, 6.9315e-01, 1.0000e+01])
    """
    return Softplus.apply(input, beta=beta, threshold=threshold)


@floating_input
def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate='tanh'``: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))).

    Example:
        >>> import chainrule as cr
        >>> cr.gelu(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return Gelu.apply(input, approximate=approximate)


@floating_input
def silu(input: Tensor) -> Tensor:
    """x·σ(x) (swish).

    Example:
        >>> import chainrule as cr
        >>> cr.silu(cr.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.2689,  0.0000,  0.7311])
    """
    return input * sigmoid(input)
