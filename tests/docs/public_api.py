"""The public names the documentation promises to cover, and where each is defined."""

from __future__ import annotations

import importlib
import types

# The namespaces of the API reference: PyTorch's torch, torch.nn, torch.nn.functional,
# torch.nn.init, torch.optim (+ lr_scheduler), torch.func, torch.utils.data, and Keras.
NAMESPACES = ["chainrule", "chainrule.nn", "chainrule.nn.functional", "chainrule.nn.init",
              "chainrule.optim", "chainrule.optim.lr_scheduler", "chainrule.func",
              "chainrule.data", "chainrule.keras", "chainrule.keras.layers",
              "chainrule.keras.models", "chainrule.keras.optimizers", "chainrule.keras.losses",
              "chainrule.keras.callbacks"]


def public_names(namespace: str) -> list[str]:
    """``namespace``'s public names, less submodules: its ``__all__``, else the names without a
    leading underscore of chainrule's own functions, classes and dtypes (not ``typing.Any``)."""
    module = importlib.import_module(namespace)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")
                 and (getattr(getattr(module, n), "__module__", None) or "").startswith(
                     ("chainrule", "numpy"))]
    return sorted(n for n in names if not isinstance(getattr(module, n), types.ModuleType))


def public_objects() -> list[tuple[str, object]]:
    """``("namespace.name", object)`` for every public name of every namespace."""
    return [(f"{ns}.{n}", getattr(importlib.import_module(ns), n))
            for ns in NAMESPACES for n in public_names(ns)]
