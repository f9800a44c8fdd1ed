"""Reverse-mode automatic differentiation: the engine, grad modes, custom functions, checks.

The names below load with the submodule that defines them, on first use: ``tensor.py`` reads
``autograd.grad_mode`` and ``autograd.tape``, and the engine reads ``tensor.py``, so importing
the engine here eagerly would close an import cycle through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "detect_anomaly": "anomaly", "is_anomaly_enabled": "anomaly",
    "set_detect_anomaly": "anomaly",
    "Function": "custom", "FunctionCtx": "custom", "once_differentiable": "custom",
    "backward": "engine", "grad": "engine",
    "OPS": "function", "Op": "function", "register": "function",
    "enable_grad": "grad_mode", "inference_mode": "grad_mode", "is_grad_enabled": "grad_mode",
    "no_grad": "grad_mode", "set_grad_enabled": "grad_mode",
    "GradcheckError": "gradcheck", "gradcheck": "gradcheck", "gradgradcheck": "gradcheck",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'chainrule.autograd' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"chainrule.autograd.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
