"""Graph nodes: ``Op``, the base of every primitive, and ``Op.apply``, the one place that builds
the graph.

A primitive subclasses ``Op`` and defines, together:

- ``forward(*arrays) -> array``: the output, computed on raw arrays through ``backend.xp``;
- ``backward(g) -> tuple``: the gradient for each input from the output's gradient ``g``, written
  with chainrule Tensor ops (so the backward pass is itself a graph, and ``create_graph`` gives
  higher derivatives). Return ``None`` for an input that gets no gradient. The engine reduces
  broadcast gradients back to each input's shape; ops never do.
- ``jvp(*tangents) -> Tensor``: the forward-mode rule, the output's tangent from the inputs'
  tangents (``None`` means zero), also in Tensor ops.

Keyword arguments of ``apply`` become attributes of the node (``self.dim``) and are passed on
unchanged when the node is re-applied (``output()`` under ``create_graph``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from chainrule.autograd import forward_ad
from chainrule.autograd.grad_mode import _mode

if TYPE_CHECKING:
    from chainrule.backend import Array
    from chainrule.tensor import Tensor

OPS: dict[str, type[Op]] = {}
"""Every registered primitive by name; the test suite checks each one's gradients from it."""


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: add a primitive to ``OPS`` under its ``name``."""
    if cls.name in OPS:
        raise ValueError(f"op {cls.name!r} is registered twice")
    OPS[cls.name] = cls
    return cls


class Op:
    """One primitive applied to some tensors: a node of the computation graph."""

    __slots__ = ("inputs", "out", "params", "needs_input_grad", "versions", "hooks", "retained",
                 "__dict__", "__weakref__")

    name: ClassVar[str] = "op"
    saves_inputs: ClassVar[bool] = True
    """Whether ``backward`` reads the inputs' values; if so an in-place change to one is an error."""
    differentiable: ClassVar[bool] = True

    def forward(self, *xs: Array) -> Array:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{self.name}: no backward")

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        raise NotImplementedError(f"{self.name}: no forward-mode rule")

    def output(self) -> Tensor:
        """The op's output as a Tensor: the saved value in a plain backward, re-derived from the
        inputs (so it is differentiable) when gradients of the backward itself are recorded."""
        dual = self.__dict__.get("_fw_result")
        if dual is not None:
            return dual
        if _mode.enabled:
            return type(self).apply(*self.inputs, **self.params)
        return Tensor._wrap(self.out)

    @classmethod
    def apply(cls, *args: Any, **params: Any) -> Tensor:
        """Run the op on tensors (or Python scalars) and record it when gradients are needed."""
        inputs = tuple(a if isinstance(a, Tensor) else _constant(a, args) for a in args)
        op = cls.__new__(cls)
        op.params = params
        if params:
            op.__dict__.update(params)
        out = op.forward(*[t.data for t in inputs])
        if _mode.enabled and cls.differentiable and any(t.requires_grad for t in inputs):
            op.inputs = inputs
            op.out = out
            op.needs_input_grad = tuple(t.requires_grad for t in inputs)
            if cls.saves_inputs:
                op.versions = tuple(t._version for t in inputs)
            op.hooks = None
            op.retained = None
            result = Tensor._wrap(out, True, op)
        else:
            result = Tensor._wrap(out)
        if forward_ad.levels:
            forward_ad.propagate(op, inputs, out, result)
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def _constant(value: Any, args: tuple[Any, ...]) -> Tensor:
    """A Python scalar (or array-like) operand as a constant tensor.

    Scalars take the dtype of the tensor operand, as in PyTorch (``x * 2.0`` stays float32); a
    float scalar with an integer tensor gives the default float dtype.
    """
    ref = next((a for a in args if isinstance(a, Tensor)), None)
    if ref is not None and isinstance(value, (bool, int, float)):
        kind = ref.data.dtype.kind
        if isinstance(value, bool):
            dtype = ref.data.dtype
        elif isinstance(value, float) and kind in "biu":
            dtype = xp.float32
        elif isinstance(value, int) and kind == "b":
            dtype = xp.int64
        else:
            dtype = ref.data.dtype
        return Tensor._wrap(xp.asarray(value, dtype=dtype))
    return tensor(value)


from chainrule.backend import xp  # noqa: E402
from chainrule.tensor import Tensor, tensor  # noqa: E402
