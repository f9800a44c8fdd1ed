"""How a Tensor pickles (``pickle``, ``copy.deepcopy``, DataLoader workers, ``save`` of whole
objects): its bytes, dtype, shape, ``requires_grad`` and ``grad``, rebuilt by
``rebuild_tensor`` / ``rebuild_parameter``, the functions the weights-only unpickler allows."""

from __future__ import annotations

from typing import Any

import numpy

from chainrule.tensor import Tensor


def _dtype(name: str) -> Any:
    try:
        return numpy.dtype(name)
    except TypeError:  # an extension dtype such as ml_dtypes' bfloat16
        import ml_dtypes

        return numpy.dtype(getattr(ml_dtypes, name))


def _array(raw: bytes, dtype: str, shape: tuple[int, ...]) -> Any:
    return numpy.frombuffer(raw, _dtype(dtype)).reshape(shape).copy()


def rebuild_tensor(raw: bytes, dtype: str, shape: tuple[int, ...], requires_grad: bool,
                   grad: Tensor | None) -> Tensor:
    """A leaf tensor from the parts ``Tensor.__reduce_ex__`` gives."""
    t = Tensor._wrap(_array(raw, dtype, shape), requires_grad)
    t.grad = grad
    return t


def rebuild_parameter(raw: bytes, dtype: str, shape: tuple[int, ...], requires_grad: bool,
                      grad: Tensor | None) -> Tensor:
    """A ``Parameter`` from the parts ``Tensor.__reduce_ex__`` gives."""
    from chainrule.nn.modules.module import Parameter

    p = Parameter(Tensor._wrap(_array(raw, dtype, shape)), requires_grad)
    p.grad = grad
    return p


def _reduce_ex(self: Tensor, protocol: int) -> tuple[Any, ...]:
    from chainrule.nn.modules.module import Parameter

    if type(self) not in (Tensor, Parameter):
        return object.__reduce_ex__(self, protocol)
    rebuild = rebuild_parameter if type(self) is Parameter else rebuild_tensor
    data = self.array  # (not ascontiguousarray: it turns a 0-d array into a 1-d one)
    return rebuild, (data.tobytes(order="C"), data.dtype.name, tuple(data.shape),
                     bool(self.requires_grad and self.grad_fn is None), self.grad)


METHODS = {"__reduce_ex__": _reduce_ex}
"""For the op table to bind onto ``Tensor`` (pickling)."""
