"""The ``out=`` keyword of PyTorch's functions (``cr.add(a, b, out=c)``, ``cr.sum(x, 0,
out=s)``, ``cr.zeros(2, 3, out=z)``): the result is written into ``out``, which is returned.

As in PyTorch, ``out`` is resized (with a warning unless it was empty) when its shape differs,
the result must cast to ``out``'s dtype within its kind (no float into an integer tensor), a
factory without ``dtype`` makes ``out``'s dtype, and ``out=`` is refused while gradients are
recorded for an argument. Only the functions in ``chainrule``'s namespace take ``out=``; the
Tensor methods and operators do not (nor do they in PyTorch).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from chainrule import creation
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import xp
from chainrule.ops import elementwise, linalg, movement, reduce, unary
from chainrule.tensor import Tensor

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "bool": "Bool"}


def _requires_grad(value: Any) -> bool:
    if isinstance(value, Tensor):
        return value.requires_grad
    if isinstance(value, list | tuple):
        return any(_requires_grad(v) for v in value)
    return False


def _write(name: str, result: Tensor, out: Any) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    src, dst = result.array, out.array
    if not xp.can_cast(src.dtype, dst.dtype, "same_kind"):
        raise RuntimeError(f"result type {_TORCH_NAMES.get(src.dtype.name, src.dtype.name)} "
                           f"can't be cast to the desired output type "
                           f"{_TORCH_NAMES.get(dst.dtype.name, dst.dtype.name)}")
    if dst.shape != src.shape:
        if dst.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(dst.shape)}, which does not match the required output shape "
                f"{list(src.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", stacklevel=3)
        out.array = src.astype(dst.dtype)
    else:
        xp.copyto(dst, src, casting="same_kind")
    out._version += 1


def with_out(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking ``out=`` (a tensor, or a tuple of them for a tuple result)."""
    name = fn.__name__

    @functools.wraps(fn)
    def call(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        if _mode.enabled and (_requires_grad(args) or _requires_grad(list(kwargs.values()))
                              or _requires_grad(out)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        result = fn(*args, **kwargs)
        if isinstance(result, tuple):
            if not isinstance(out, tuple | list) or len(out) != len(result):
                raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} "
                                "Tensors")
            for r, o in zip(result, out):
                _write(name, r, o)
            return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
        _write(name, result, out)
        return out

    return call


def factory_with_out(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A factory taking ``out=``; without ``dtype`` it makes ``out``'s dtype."""
    wrapped = with_out(fn)

    @functools.wraps(fn)
    def call(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        if isinstance(out, Tensor) and kwargs.get("dtype") is None:
            kwargs["dtype"] = out.dtype
        return wrapped(*args, out=out, **kwargs)

    return call


_FUNCTIONS = {
    module: names for module, names in (
        (elementwise, ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "clamp")),
        (linalg, ("matmul", "mm", "bmm", "dot")),
        (movement, ("cat", "concat", "stack")),
        (reduce, ("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin",
                  "cumsum", "logsumexp")),
        (unary, ("abs", "exp", "log", "sqrt", "tanh", "neg")),
    )
}
FUNCTIONS = {name: with_out(getattr(module, name))
             for module, names in _FUNCTIONS.items() for name in names}
"""The functions of ``chainrule``'s namespace that take ``out=``, by name."""

FUNCTIONS.update({name: factory_with_out(getattr(creation, name))
                  for name in ("zeros", "ones", "empty", "full", "arange", "linspace", "eye",
                               "rand", "randn", "randint")})
