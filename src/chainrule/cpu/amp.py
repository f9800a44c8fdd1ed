"""``chainrule.cpu.amp``: PyTorch's older spelling of CPU autocast and GradScaler."""

from __future__ import annotations

import warnings
from typing import Any

from chainrule import amp
from chainrule.amp.grad_scaler import GradScaler

__all__ = ["GradScaler", "autocast"]


class autocast(amp.autocast):  # noqa: N801  (PyTorch's name)
    """``chainrule.autocast("cpu", ...)`` under its deprecated name, warning as PyTorch does."""

    def __init__(self, enabled: bool = True, dtype: Any = None,
                 cache_enabled: bool = True) -> None:
        warnings.warn("`chainrule.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`chainrule.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)
