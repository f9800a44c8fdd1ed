"""The weights-only unpickler behind ``chainrule.load(..., weights_only=True)``: it rebuilds
tensors, numbers, strings and plain containers and refuses every other global (a class, a
function) unless the user allowlisted it with ``add_safe_globals`` or ``safe_globals``, so
loading an untrusted file cannot run its code (``torch.serialization``'s rule)."""

from __future__ import annotations

import _codecs
import _compat_pickle
import collections
import pickle
from collections.abc import Callable
from types import TracebackType
from typing import Any

from chainrule.device import device
from chainrule.size import Size
from chainrule.tensor_pickle import rebuild_parameter, rebuild_tensor

_DEFAULT: dict[str, Any] = {
    f"{g.__module__}.{g.__qualname__}": g
    for g in (rebuild_tensor, rebuild_parameter, Size, device, collections.OrderedDict,
              set, frozenset, slice, complex, bytearray, range)
}
_DEFAULT["_codecs.encode"] = _codecs.encode  # bytes under pickle protocol 2
_user: dict[str, Any] = {}


def _name(g: Callable[..., Any] | tuple[Callable[..., Any], str]) -> tuple[str, Any]:
    if isinstance(g, tuple):
        return g[1], g[0]
    return f"{g.__module__}.{g.__qualname__}", g


def add_safe_globals(safe_globals: list[Callable[..., Any] | tuple[Callable[..., Any], str]]
                     ) -> None:
    """Allow these classes or functions in files loaded with ``weights_only=True``; an entry
    ``(obj, "module.name")`` allows ``obj`` under that name.

    Example:
        >>> import chainrule as cr
        >>> cr.serialization.add_safe_globals([cr.nn.Linear])
        >>> cr.nn.Linear in cr.serialization.get_safe_globals()
        True
        >>> cr.serialization.clear_safe_globals()
    """
    for g in safe_globals:
        key, obj = _name(g)
        _user[key] = obj


def get_safe_globals() -> list[Any]:
    """The globals allowlisted by the user (``add_safe_globals``)."""
    return list(_user.values())


def clear_safe_globals() -> None:
    """Forget every global allowlisted by the user."""
    _user.clear()


class safe_globals:  # noqa: N801  (PyTorch's name)
    """A context manager that allowlists globals within its block (``add_safe_globals``
    for the duration)."""

    def __init__(self, safe_globals: list[Callable[..., Any] | tuple[Callable[..., Any], str]]
                 ) -> None:
        self.safe_globals = safe_globals
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        self._saved = dict(_user)
        add_safe_globals(self.safe_globals)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _user.clear()
        _user.update(self._saved)


class WeightsUnpickler(pickle.Unpickler):
    """Finds only allowlisted globals; any other raises ``pickle.UnpicklingError``."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, protocol < 3
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = f"{module}.{name}"
        found = _DEFAULT.get(key, _user.get(key))
        if found is None:
            raise pickle.UnpicklingError(
                f"Unsupported global: GLOBAL {key} was not an allowed global by default. "
                f"Please use `chainrule.serialization.add_safe_globals([{key}])` or the "
                f"`chainrule.serialization.safe_globals([{key}])` context manager to "
                "allowlist this global if you trust this class/function.")
        return found


def weights_only_error(why: str) -> pickle.UnpicklingError:
    """PyTorch's explanation of a refused weights-only load, with the unpickler's reason."""
    return pickle.UnpicklingError(
        "Weights only load failed. This file can still be loaded, to do so you have two "
        "options, \x1b[1mdo those steps only if you trust the source of the checkpoint\x1b[0m. "
        "\n\t(1) `chainrule.load` defaults to `weights_only=True`, as `torch.load` does since "
        "PyTorch 2.6. Re-running `chainrule.load` with `weights_only` set to `False` will "
        "likely succeed, but it can result in arbitrary code execution. Do it only if you got "
        "the file from a trusted source.\n\t(2) Alternatively, to load with "
        "`weights_only=True` please check the recommended steps in the following error "
        f"message.\n\tWeightsUnpickler error: {why}\n\nCheck the documentation of "
        "chainrule.load to learn more about types accepted by default with weights_only.")
