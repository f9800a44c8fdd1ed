"""``keras.ops``: tensor functions that work on tensors and on symbolic ``KerasTensor`` s.

On chainrule tensors (inside a layer's or a subclassed model's ``call``) each runs the chainrule
op at once. On KerasTensors it becomes a node of the functional graph, like a layer call, so
``keras.ops.concatenate([a, b])`` joins two branches of a ``keras.Model(inputs, outputs)``.
Graphs holding such nodes run, train and save their weights; their ``.keras`` config cannot
name the function, so ``model.save`` refuses them (use a layer such as ``Concatenate``).

Example:
    >>> from chainrule import keras
    >>> a, b = keras.Input((2,)), keras.Input((3,))
    >>> keras.ops.concatenate([a, b], axis=-1).shape
    (None, 5)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import chainrule as cr
from chainrule.keras.layers import Layer, _snake, _unique_name
from chainrule.keras.symbolic import any_symbolic
from chainrule.tensor import Tensor


class Operation(Layer):
    """A ``keras.ops`` function as a node of a functional graph (it has no weights)."""

    def __init__(self, fn: Callable[..., Any], kind: str, **kwargs: Any) -> None:
        super().__init__(name=_unique_name(_snake(kind)))
        self.fn, self.kind, self.kwargs = fn, kind, kwargs

    def forward(self, *args: Any) -> Any:  # type: ignore[override]
        return self.fn(*args, **self.kwargs)

    def get_config(self) -> dict[str, Any]:
        raise ValueError(f"keras.ops.{_snake(self.kind)} in a functional graph cannot be saved "
                         f"in a .keras config; use the matching layer instead")


def _op(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    node_type = type(kind, (Operation,), {"__doc__": f"``keras.ops.{_snake(kind)}`` as a node."})

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def op(*args: Any, **kwargs: Any) -> Any:
            if any_symbolic(args):
                return node_type(fn, kind, **kwargs)(*args)
            return fn(*(_tensor(a) for a in args), **kwargs)
        return op
    return wrap


def _tensor(x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return [_tensor(v) for v in x]
    return x if isinstance(x, Tensor) else cr.as_tensor(x)


@_op("Concatenate")
def concatenate(xs: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along ``axis`` (Keras's default axis is 0)."""
    return cr.cat(list(xs), axis)


@_op("Stack")
def stack(x: Sequence[Tensor], axis: int = 0) -> Tensor:
    return cr.stack(list(x), axis)


@_op("Add")
def add(x1: Tensor, x2: Tensor) -> Tensor:
    return x1 + x2


@_op("Subtract")
def subtract(x1: Tensor, x2: Tensor) -> Tensor:
    return x1 - x2


@_op("Multiply")
def multiply(x1: Tensor, x2: Tensor) -> Tensor:
    return x1 * x2


@_op("Matmul")
def matmul(x1: Tensor, x2: Tensor) -> Tensor:
    return x1 @ x2


@_op("Mean")
def mean(x: Tensor, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    return x.mean() if axis is None and not keepdims else x.mean(dim=axis, keepdim=keepdims)


@_op("Sum")
def sum(x: Tensor, axis: int | tuple[int, ...] | None = None,  # noqa: A001
        keepdims: bool = False) -> Tensor:
    return x.sum() if axis is None and not keepdims else x.sum(dim=axis, keepdim=keepdims)


@_op("Relu")
def relu(x: Tensor) -> Tensor:
    return cr.relu(x)


@_op("Sigmoid")
def sigmoid(x: Tensor) -> Tensor:
    return cr.sigmoid(x)


@_op("Tanh")
def tanh(x: Tensor) -> Tensor:
    return cr.tanh(x)


@_op("Softmax")
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return cr.softmax(x, axis)


__all__ = ["Operation", "add", "concatenate", "matmul", "mean", "multiply", "relu", "sigmoid",
           "softmax", "stack", "subtract", "sum", "tanh"]
