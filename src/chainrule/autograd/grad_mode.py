"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

The mode is per thread, as in PyTorch, so a server training several models in threads keeps
each one's mode apart.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _Mode(threading.local):
    enabled = True


_mode = _Mode()


def is_grad_enabled() -> bool:
    """True when operations record the graph for backward.

    Example:
        >>> import chainrule as cr
        >>> with cr.no_grad():
        ...     print(cr.is_grad_enabled())
        False
        >>> cr.is_grad_enabled()
        True
    """
    return _mode.enabled


class set_grad_enabled:
    """Context manager (and decorator) that turns graph recording on or off.

    Example:
        >>> import chainrule as cr
        >>> x = cr.ones(2, requires_grad=True)
        >>> with cr.set_grad_enabled(False):
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _mode.enabled
        self.mode = bool(mode)
        _mode.enabled = self.mode

    def __enter__(self) -> None:
        _mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.prev

    def __call__(self, fn: F) -> F:
        mode = self.mode
        _mode.enabled = self.prev

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class _Bare:
    """Lets a mode class decorate a function with or without parentheses, as PyTorch allows
    (``@cr.no_grad`` and ``@cr.no_grad()``)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            mode = super().__new__(cls)
            mode.__init__()
            return mode(args[0])
        return super().__new__(cls)


class no_grad(_Bare, set_grad_enabled):
    """Disable graph recording inside a ``with`` block or a decorated function.

    Example:
        >>> import chainrule as cr
        >>> x = cr.ones(2, requires_grad=True)
        >>> with cr.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    def __init__(self) -> None:
        self.prev = _mode.enabled
        self.mode = False

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = False


class enable_grad(_Bare, set_grad_enabled):
    """Enable graph recording inside a ``with`` block (e.g. within ``no_grad``).

    Example:
        >>> import chainrule as cr
        >>> x = cr.ones(1, requires_grad=True)
        >>> with cr.no_grad():
        ...     with cr.enable_grad():
        ...         y = x * 2
        >>> y.requires_grad
        True
    """

    def __init__(self) -> None:
        self.prev = _mode.enabled
        self.mode = True

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = True


class inference_mode(_Bare, set_grad_enabled):
    """Run code that only evaluates (``torch.inference_mode``): no graph is recorded, as under
    ``no_grad``; ``inference_mode(False)`` leaves the current mode as it is.

    Example:
        >>> import chainrule as cr
        >>> w = cr.ones(2, requires_grad=True)
        >>> with cr.inference_mode():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode: bool = True) -> None:
        self.prev = _mode.enabled
        self.off = bool(mode)
        self.mode = False if mode else _mode.enabled

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        if self.off:
            _mode.enabled = False

    def __call__(self, fn: F) -> F:
        return super().__call__(fn) if self.off else fn
