"""Whether operations record the graph: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

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
    """True when operations record the graph for backward."""
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


class no_grad(set_grad_enabled):
    """Disable graph recording inside a ``with`` block or a decorated function."""

    def __init__(self) -> None:
        self.prev = _mode.enabled
        self.mode = False

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = False


class enable_grad(set_grad_enabled):
    """Enable graph recording inside a ``with`` block (e.g. within ``no_grad``)."""

    def __init__(self) -> None:
        self.prev = _mode.enabled
        self.mode = True

    def __enter__(self) -> None:
        self.prev = _mode.enabled
        _mode.enabled = True
