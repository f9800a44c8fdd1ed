"""``torch.backends.cudnn`` on a build without cuDNN: the flags PyTorch scripts set
(``benchmark``, ``deterministic``, ``enabled``, ``allow_tf32``) with PyTorch's defaults; they
are recorded and have no effect, since chainrule computes on the CPU.

Example:
    >>> import chainrule as cr
    >>> cr.backends.cudnn.benchmark = True
    >>> cr.backends.cudnn.is_available(), cr.backends.cudnn.version()
    (False, None)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: chainrule is not built with cuDNN."""
    return False


def version() -> int | None:
    """None: there is no cuDNN library."""
    return None


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, deterministic: bool = False,
          allow_tf32: bool = True) -> Iterator[None]:
    """Set the four flags for the body of a ``with`` block, then restore them."""
    module = globals()
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    saved = {name: module[name] for name in names}
    module.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic,
                  allow_tf32=allow_tf32)
    try:
        yield
    finally:
        module.update(saved)
