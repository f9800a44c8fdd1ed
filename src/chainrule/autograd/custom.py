"""User-defined differentiable functions, PyTorch style: subclass ``Function`` and call
``.apply``.

Two ways to write ``forward``, as in ``torch.autograd.Function``:

- ``forward(ctx, *args)``, saving what ``backward`` needs on ``ctx``;
- ``forward(*args)`` without ``ctx`` plus ``setup_context(ctx, inputs, output)``, which saves it.

``backward(ctx, *grad_outputs)`` returns one gradient per argument of ``forward`` (``None`` for
non-tensors or inputs that need none). It runs with grad mode on when the caller asked for
``create_graph``, so a backward written with chainrule ops can be differentiated again
(``once_differentiable`` marks one that cannot). ``jvp(ctx, *tangents)``, when defined, gives
the outputs' tangents in forward mode; without it, forward mode differentiates the ops
``forward`` ran.

A function may return several tensors; the graph node then holds them packed into one flat
array and hands each out as a slice, so the engine keeps one output per node. Outputs marked
with ``ctx.mark_non_differentiable`` (and integer outputs) carry no gradient, and ``backward``
receives zeros for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chainrule.autograd import forward_ad, function
from chainrule.autograd.function import NodeName, Op
from chainrule.autograd.grad_mode import _mode
from chainrule.backend import xp
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


class FunctionCtx:
    """The ``ctx`` passed to a custom function: save tensors and any attributes for backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._saved_for_forward: tuple[Any, ...] = ()
        self._non_differentiable: set[int] = set()
        self._node: _CustomOp | None = None
        self._in_jvp = False

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep inputs, outputs or intermediates for ``backward`` (``ctx.saved_tensors``).
        Saved inputs and outputs keep their graph, so a differentiable backward can use them
        under ``create_graph``."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, got "
                                f"{type(t).__name__}")
        self._saved = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``jvp``; there ``ctx.saved_tensors`` returns them."""
        self._saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors saved for ``backward`` (inside ``jvp``: those saved for forward); a
        saved output comes back as the recorded output (with its graph), as in PyTorch."""
        saved = self._saved_for_forward if self._in_jvp else self._saved
        node = self._node
        if node is None:
            return tuple(saved)
        return tuple(node.recorded_output(t) for t in saved)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that have no gradient (indices, masks): they are returned with
        ``requires_grad=False`` and ``backward`` receives zeros for them."""
        self._non_differentiable.update(id(t) for t in tensors)


class _CustomOp(Op):
    """The graph node of one call of a custom ``Function``; its output is the function's
    differentiable outputs (one tensor, or several packed into one flat array)."""

    name = "custom"
    saves_inputs = False
    fn: type[Function]
    ctx: FunctionCtx
    positions: tuple[int, ...]
    n_args: int
    outputs: tuple[Tensor, ...]
    """The tensors ``forward`` returned, all of them."""
    packed: tuple[int, ...]
    """Positions in ``outputs`` of the differentiable ones; more than one means packed."""
    result: Any

    def forward(self, *xs: Any) -> Any:  # the work happens in Function.apply
        return self.result

    def recorded_output(self, t: Any) -> Any:
        """``t``, or the recorded (differentiable) version of it if it is an output."""
        for k, i in enumerate(self.packed):
            if t is self.outputs[i]:
                return _pieces(self.output(), self.outputs, self.packed)[k]
        return t

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        grads_out: list[Tensor] = [Tensor._wrap(xp.zeros(o.shape, o.dtype))
                                   for o in self.outputs]
        for i, piece in zip(self.packed, _pieces(g, self.outputs, self.packed)):
            grads_out[i] = piece
        grads = self.fn.backward(self.ctx, *grads_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < self.n_args:
            raise RuntimeError(
                f"{self.fn.__name__}.backward returned {len(grads)} gradients but forward took "
                f"{self.n_args} inputs"
            )
        return tuple(grads[i] for i in self.positions)

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        if self.fn.defines_jvp():
            full: list[Tensor | None] = [None] * self.n_args
            for i, t, x in zip(self.positions, tangents, self.inputs):
                full[i] = t if t is not None else Tensor._wrap(xp.zeros(x.shape, x.dtype))
            self.ctx._in_jvp = True
            try:
                out = self.fn.jvp(self.ctx, *full)
            finally:
                self.ctx._in_jvp = False
            outs = out if isinstance(out, tuple) else (out,)
            if len(outs) != len(self.outputs):
                raise RuntimeError(f"{self.fn.__name__}.jvp returned {len(outs)} tangents but "
                                   f"forward returned {len(self.outputs)} outputs")
        else:  # forward ran with the levels open: its own ops gave the outputs tangents
            outs = tuple(forward_ad.tangent_of(o, self._fw_level) for o in self.outputs)
        picked = [outs[i] if outs[i] is not None else self.outputs[i] * 0 for i in self.packed]
        if len(picked) == 1:
            return picked[0]
        return cat([p.reshape(-1).to(self.result.dtype) for p in picked])


def _pieces(packed: Tensor, outputs: tuple[Tensor, ...],
            positions: tuple[int, ...]) -> list[Tensor]:
    """The differentiable outputs (at ``positions``) sliced back out of a node's output."""
    if len(positions) == 1:
        return [packed]
    out, start = [], 0
    for i in positions:
        o = outputs[i]
        out.append(packed[start:start + o.numel()].reshape(o.shape).to(o.dtype))
        start += o.numel()
    return out


class Function:
    """Base class for custom autograd functions.

    Example:
        >>> import chainrule as cr
        >>> class Cube(cr.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return 3 * x ** 2 * g
        >>> x = cr.tensor(2.0, requires_grad=True)
        >>> Cube.apply(x).backward(); x.grad
        tensor(12.)
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple[Any, ...], output: Any) -> None:
        """Override to write ``forward`` without ``ctx``: save what backward needs here."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError

    @staticmethod
    def jvp(ctx: FunctionCtx, *grad_inputs: Tensor | None) -> Any:
        """Override for forward mode: the outputs' tangents from the inputs' tangents (zeros
        for tensor inputs without one, ``None`` for other arguments)."""
        raise NotImplementedError

    @classmethod
    def defines_jvp(cls) -> bool:
        return cls.jvp is not Function.jvp

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if function.vmap_dispatch is not None:  # under vmap: batched inputs run per sample
            batched = function.vmap_dispatch(cls, args, kwargs)
            if batched is not None:
                return batched
        new_style = cls.setup_context is not Function.setup_context
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        tensors = [args[i] for i in positions]
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        prev, open_levels = _mode.enabled, forward_ad.levels[:]
        _mode.enabled = False
        if cls.defines_jvp():
            forward_ad.levels[:] = []  # tangents come from ``jvp``, not from forward's ops
        try:
            out = cls.forward(*args, **kwargs) if new_style else cls.forward(ctx, *args,
                                                                              **kwargs)
            if new_style:
                cls.setup_context(ctx, args, out)
        finally:
            _mode.enabled = prev
            forward_ad.levels[:] = open_levels
        outputs = out if isinstance(out, tuple) else (out,)
        for o in outputs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of "
                                f"Tensors, got {type(o).__name__}")
        graph = prev and any(t.requires_grad for t in tensors)
        tangents = bool(open_levels) and cls.defines_jvp() and any(t._tangents for t in tensors)
        packed = tuple(i for i, o in enumerate(outputs) if o.dtype.kind == "f"
                       and id(o) not in ctx._non_differentiable)
        if not (graph or tangents) or not packed:
            return out
        if len(packed) == 1:
            data = outputs[packed[0]].array
        else:
            dtype = xp.result_type(*[outputs[i].dtype for i in packed])
            data = xp.concatenate([outputs[i].array.reshape(-1).astype(dtype) for i in packed])
        node_out = _CustomOp.apply(*tensors, fn=cls, ctx=ctx, positions=positions,
                                   n_args=len(args), outputs=outputs, packed=packed, result=data)
        if isinstance(node_out.grad_fn, _CustomOp):
            ctx._node = node_out.grad_fn
            node_out.grad_fn.name = NodeName("custom", f"{cls.__name__}Backward")
        if len(outputs) == 1:
            return node_out
        pieces = iter(_pieces(node_out, outputs, packed))
        return tuple(next(pieces) if i in packed else o for i, o in enumerate(outputs))


class _DelayedError(Function):
    """Identity whose gradient is an error: marks gradients computed by a
    ``once_differentiable`` backward."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor) -> Tensor:
        return Tensor._wrap(x.array)

    @staticmethod
    def backward(ctx: FunctionCtx, g: Tensor) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")


def once_differentiable(backward: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for a ``backward`` that is not itself differentiable (it may use NumPy): it
    runs without recording, and differentiating its results again raises an error."""

    @functools.wraps(backward)
    def wrapper(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        prev = _mode.enabled
        _mode.enabled = False
        try:
            grads = backward(ctx, *grad_outputs)
        finally:
            _mode.enabled = prev
        if not (prev and any(g.requires_grad for g in grad_outputs if isinstance(g, Tensor))):
            return grads
        single = not isinstance(grads, tuple)
        marked = tuple(_DelayedError.apply(_requiring(g)) if isinstance(g, Tensor) else g
                       for g in ((grads,) if single else grads))
        return marked[0] if single else marked

    return wrapper


def _requiring(g: Tensor) -> Tensor:
    """``g`` as a leaf-free tensor that requires grad, so the error node is recorded."""
    return Tensor._wrap(g.array, True) if not g.requires_grad else g
