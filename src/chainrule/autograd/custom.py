"""User-defined differentiable functions, PyTorch style: subclass ``Function`` with static
``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` and call ``.apply``."""

from __future__ import annotations

from typing import Any

from chainrule.autograd.function import NodeName, Op
from chainrule.autograd.grad_mode import _mode
from chainrule.tensor import Tensor


class FunctionCtx:
    """The ``ctx`` passed to a custom function: save tensors and any attributes for backward."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Tensor, ...] = ()

    def save_for_backward(self, *tensors: Tensor) -> None:
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Accepted for compatibility; outputs of a custom function are always differentiable."""


class _CustomOp(Op):
    name = "custom"
    saves_inputs = False
    fn: type[Function]
    ctx: FunctionCtx
    positions: tuple[int, ...]
    n_args: int

    def forward(self, *xs: Any) -> Any:  # the work happens in Function.apply
        return self.result.data

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        grads = self.fn.backward(self.ctx, g)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) < self.n_args:
            raise RuntimeError(
                f"{self.fn.__name__}.backward returned {len(grads)} gradients but forward took "
                f"{self.n_args} inputs"
            )
        return tuple(grads[i] for i in self.positions)

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        # ``forward`` ran with the forward-mode levels open, so its own ops already gave the
        # result its tangent at this level.
        from chainrule.autograd import forward_ad

        return forward_ad.tangent_of(self.result, self._fw_level)


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
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        tensors = [args[i] for i in positions]
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        prev = _mode.enabled
        _mode.enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            _mode.enabled = prev
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a single Tensor, got "
                            f"{type(out).__name__}")
        if not (prev and any(t.requires_grad for t in tensors)):
            return out
        result = _CustomOp.apply(*tensors, fn=cls, ctx=ctx, positions=positions,
                                 n_args=len(args), result=out)
        result.grad_fn.name = NodeName("custom", f"{cls.__name__}Backward")
        return result
