"""The recording that ``chainrule.compile`` traces a step with: every op applied, every gradient
stored into a leaf, every in-place write, and every call of a ``replayed`` function, in order.

Recording is off (``tape.entries is None``) except while a compiled function traces its step, so
the hooks in ``Op.apply``, the engine and ``Tensor._inplace`` cost one attribute test.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

OP, BACKWARD, GRAD, ASSIGN, CALL = range(5)
"""Entry kinds: (OP, op, inputs, output), (BACKWARD, op, output gradient, input gradients),
(GRAD, leaf, gradient, may_own, leaf.grad), (ASSIGN, target, value),
(CALL, fn, args, kwargs, result)."""


class CompileError(RuntimeError):
    """A step that ``chainrule.compile`` cannot replay faithfully.

    Example:
        >>> import chainrule as cr
        >>> issubclass(cr.CompileError, Exception)
        True
    """


class _Tape:
    __slots__ = ("entries", "modules", "writer")

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] | None = None
        self.modules: dict[int, Any] = {}
        self.writer: Any = None
        """The tensor whose ``.data`` or ``.grad`` a recorded step is assigning right now."""


tape = _Tape()


def replayed(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for functions whose work happens outside ops (optimizer updates, ``zero_grad``,
    random draws): a compiled step calls them again each time rather than recording inside.
    Iterator arguments are read into lists first, so the call can be repeated."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        entries = tape.entries
        if entries is None:
            return fn(*args, **kwargs)
        args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
        tape.entries = None
        try:
            result = fn(*args, **kwargs)
        finally:
            tape.entries = entries
        entries.append((CALL, fn, args, kwargs, result))
        return result

    return call


def backward_of(op: Any, g: Any) -> Any:
    """``op.backward(g)`` recorded as one step (the ops inside it are not recorded)."""
    entries = tape.entries
    tape.entries = None
    try:
        grads = op.backward(g)
    finally:
        tape.entries = entries
    entries.append((BACKWARD, op, g, grads))  # type: ignore[union-attr]
    return grads


def refuse_read(what: str) -> None:
    """Raise when the step reads a tensor's value in Python while it is traced."""
    if tape.entries is not None:
        raise CompileError(
            f"compile: the step calls {what} on a tensor while it is traced; a compiled step "
            "replays its ops without running the Python around them, so that value would be "
            "frozen. Return the tensor from the step and read it outside."
        )
