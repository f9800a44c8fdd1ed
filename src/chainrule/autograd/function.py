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

from chainrule.autograd import tangents
from chainrule.autograd.autocast_policy import cast_inputs
from chainrule.autograd.autocast_policy import policy as autocast
from chainrule.autograd.grad_mode import _mode
from chainrule.autograd.tape import OP, tape
from chainrule.backend import default_float, xp
from chainrule.tensor import Tensor, tensor

if TYPE_CHECKING:
    from chainrule.backend import Array

vmap_dispatch: Any = None
"""Set by ``chainrule.func.batching`` while a ``vmap`` runs: sends ops on batched tensors to
their batching rules."""

OPS: dict[str, type[Op]] = {}
"""Every registered primitive by name; the test suite checks each one's gradients from it."""


def on_arrays(g: Tensor) -> bool:
    """Whether a backward may compute on raw arrays: it is not being recorded
    (``create_graph``), no forward-mode tangents flow, and ``g`` is a plain tensor (vmap's
    are batched). Otherwise it must go through ops."""
    return not (_mode.enabled or tangents.levels) and type(g) is Tensor


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: add a primitive to ``OPS`` under its ``name``."""
    if cls.name in OPS:
        raise ValueError(f"op {cls.name!r} is registered twice")
    OPS[cls.name] = cls
    return cls


class Op:
    """One primitive applied to some tensors: a node of the computation graph."""

    __slots__ = ("inputs", "fns", "out", "params", "needs_input_grad", "versions", "__dict__",
                 "__weakref__")
    hooks: list[Any] | None = None
    """Hooks registered on the op's output tensor (a non-leaf), run on its gradient."""
    retained: Any = None
    """Weak reference to the output tensor when ``retain_grad()`` was called on it."""

    name: ClassVar[str] = "op"
    saves_inputs: ClassVar[bool] = True
    """Whether ``backward`` reads the inputs' values; if so, changing one in place is an error."""
    differentiable: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = NodeName(cls.name, f"{cls.__name__}Backward0")

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The graph edges to the inputs' nodes, one ``(node, 0)`` pair per input: the op that
        produced it, an ``AccumulateGrad`` for a leaf that requires grad, else ``None``
        (``torch.autograd.graph.Node.next_functions``). Empty once backward has freed the
        node."""
        if self.inputs is None:
            return ()
        return tuple((f if f is not None else AccumulateGrad(t) if t.requires_grad else None, 0)
                     for t, f in zip(self.inputs, self.fns))

    def forward(self, *xs: Array) -> Array:
        raise NotImplementedError

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        raise NotImplementedError(f"{self.name}: no backward")

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        raise NotImplementedError(f"{self.name}: no forward-mode rule")

    def slice_of_input(self) -> Any:
        """The basic index (slices, integers, None, Ellipsis) at which the op reads its one
        input, where its backward is the output's gradient placed there and 0 elsewhere
        (indexing, and so ``split``, ``chunk``, ``unbind``); None for every other op. The
        engine then adds such a gradient into its input's sum in place."""
        return None

    def output(self) -> Tensor:
        """The op's output as a Tensor: the saved value in a plain backward, re-derived from the
        inputs (so it is differentiable) when gradients of the backward itself are recorded."""
        dual = self.__dict__.get("_fw_result")
        if dual is not None:
            return dual
        if _mode.enabled or tangents.levels:  # re-derived so it carries tangents, too
            return type(self).apply(*self.inputs, **self.params)
        return Tensor._wrap(self.out)

    @classmethod
    def apply(cls, *args: Any, **params: Any) -> Tensor:
        """Run the op on tensors (or Python scalars) and record it when gradients are needed."""
        # NOTE: the hottest function of the library (every op, forward and backward, passes
        # here), so it is written for speed: one pass over the inputs, no helper calls.
        for a in args:
            if not isinstance(a, Tensor):
                args = _as_tensors(args)
                break
        if vmap_dispatch is not None:  # a vmap is running: batched inputs take the op's rule
            batched = vmap_dispatch(cls, args, params)
            if batched is not None:
                return batched
        if autocast.dtype is not None:
            args = cast_inputs(cls.name, args)
        op = _new(cls)
        op.params = params
        if params:
            op.__dict__.update(params)
        n = len(args)
        try:  # free when nothing is raised
            if n == 2:
                out = op.forward(args[0].array, args[1].array)
            elif n == 1:
                out = op.forward(args[0].array)
            else:
                out = op.forward(*[t.array for t in args])
        except (ValueError, TypeError, IndexError, ArithmeticError) as e:
            raise _named(cls.name, e, args) from e
        if type(out) is not _ndarray:  # NumPy gives scalars for 0-d results; keep arrays
            out = xp.asarray(out)
        result = _new(Tensor)
        result.array = out
        result.grad = None
        result._version = 0
        result._hooks = None
        result._tangents = None
        # (one and two inputs spelled out: a comprehension is a function call in Python 3.11)
        needs = None
        if _mode.enabled and cls.differentiable:
            if n == 2:
                a, b = args
                ra, rb = a.requires_grad, b.requires_grad
                if ra or rb:
                    needs = _BOTH if ra and rb else _FIRST if ra else _SECOND
                    # the inputs' producers now: an in-place op may later rebind a grad_fn
                    op.fns = (a.grad_fn, b.grad_fn)
                    if cls.saves_inputs:
                        va, vb = a._version, b._version
                        op.versions = (va, vb) if va or vb else _UNCHANGED2
            elif n == 1:
                a = args[0]
                if a.requires_grad:
                    needs = _NEEDS1
                    op.fns = (a.grad_fn,)
                    if cls.saves_inputs:
                        op.versions = (a._version,) if a._version else _UNCHANGED1
            elif any(t.requires_grad for t in args):
                needs = tuple([t.requires_grad for t in args])
                op.fns = tuple([t.grad_fn for t in args])
                if cls.saves_inputs:
                    op.versions = tuple([t._version for t in args])
        if needs is not None:
            op.inputs = args
            op.out = out
            op.needs_input_grad = needs
            result.requires_grad = True
            result.grad_fn = op
        else:
            result.requires_grad = False
            result.grad_fn = None
        if tangents.levels:
            tangents.propagate(op, args, out, result)
        if tape.entries is not None:
            tape.entries.append((OP, op, args, result))
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


# NOTE: shared constant records for one- and two-input ops, so that recording an op allocates
# two fewer tuples: each allocation counts toward Python's next garbage collection, and in a
# process holding many objects the full collections dominate a chain of tiny ops.
_NEEDS1, _BOTH, _FIRST, _SECOND = (True,), (True, True), (True, False), (False, True)
_UNCHANGED1, _UNCHANGED2 = (0,), (0, 0)


class NodeName(str):
    """An op's registry name (``"mul"``), which, called, gives its node name as PyTorch prints
    it (``grad_fn.name()`` is ``"MulBackward0"``).

    # NOTE: ``Op.name`` is the registry key every op file sets; PyTorch programs call
    # ``grad_fn.name()``. A callable ``str`` serves both without renaming every op.
    """

    node_name: str

    def __new__(cls, name: str, node_name: str) -> NodeName:
        self = super().__new__(cls, name)
        self.node_name = node_name
        return self

    def __call__(self) -> str:
        return self.node_name


class AccumulateGrad:
    """The graph node of a leaf that requires grad: backward accumulates into its
    ``variable.grad`` (``grad_fn.next_functions`` lists it for leaf inputs)."""

    __slots__ = ("variable",)
    next_functions: tuple[tuple[Any, int], ...] = ()

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _named(name: str, error: Exception, args: tuple[Tensor, ...]) -> Exception:
    """``error`` from an op's forward, as one that names the op and its inputs (a bare NumPy
    message such as "operands could not be broadcast" says neither); errors that already name
    the op pass through unchanged."""
    message = str(error)
    if message.startswith(f"{name}:") or message.startswith(f"{name}("):
        return error
    inputs = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in args)
    kind = IndexError if isinstance(error, IndexError) else RuntimeError
    return kind(f"{name}: {message} (inputs: {inputs})")


def _as_tensors(args: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """The operands with Python scalars and arrays turned into constant tensors.

    Scalars take the dtype of the tensor operand, as in PyTorch (``x * 2.0`` stays float32); a
    float scalar with an integer or bool tensor gives the default float dtype (float32).
    """
    if len(args) == 2:
        a, b = args
        if isinstance(a, Tensor):
            dtype = a.array.dtype if type(a) is Tensor else a.dtype  # (a plain read is cheaper)
            if isinstance(b, float) and dtype.kind in "biu":
                a = _to_default_float(a)
                dtype = a.dtype
            return a, _constant(b, dtype)
        if isinstance(b, Tensor):
            dtype = b.array.dtype if type(b) is Tensor else b.dtype
            if isinstance(a, float) and dtype.kind in "biu":
                b = _to_default_float(b)
                dtype = b.dtype
            return _constant(a, dtype), b
    ref = next((a.dtype for a in args if isinstance(a, Tensor)), None)
    return tuple(a if isinstance(a, Tensor) else _constant(a, ref) for a in args)


def _to_default_float(t: Tensor) -> Tensor:
    """An integer tensor meeting a Python float computes in the default float dtype (NumPy
    would give float64)."""
    return t.to(default_float())  # (a batched tensor casts through an op)


_CONSTANTS: dict[tuple[Any, Any, type], Tensor] = {}
"""Python scalars as read-only tensors, by (value, dtype of the other operand, type)."""


def clear_constants() -> None:
    """Forget the cached scalar tensors (their dtypes follow the default float dtype)."""
    _CONSTANTS.clear()
_SCALARS = (float, int, bool)


def _constant(value: Any, ref: Any) -> Tensor:
    const = _CONSTANTS.get((value, ref, type(value))) if type(value) in _SCALARS else None
    if const is not None:
        return const
    if isinstance(value, xp.ndarray):
        return Tensor._wrap(value)
    if ref is None or not isinstance(value, (bool, int, float)):
        return tensor(value)
    key = (value, ref, type(value))
    if key not in _CONSTANTS:
        if isinstance(value, bool):
            dtype = ref
        elif isinstance(value, float) and ref.kind in "biu":
            dtype = default_float()
        elif isinstance(value, int) and ref.kind == "b":
            dtype = xp.int64
        else:
            dtype = ref
        if len(_CONSTANTS) > 4096:
            _CONSTANTS.clear()
        arr = xp.asarray(value, dtype=dtype)
        arr.flags.writeable = False  # shared between ops: never mutated
        _CONSTANTS[key] = Tensor._wrap(arr)
    return _CONSTANTS[key]


_new = object.__new__
_ndarray = xp.ndarray
