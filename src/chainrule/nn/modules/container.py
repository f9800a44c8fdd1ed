"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``,
``ParameterDict``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chainrule.nn.modules.module import Module, Parameter
from chainrule.tensor import Tensor


class Sequential(Module):
    """Modules applied one after another; ``Sequential(a, b)`` or ``Sequential(OrderedDict)``.

    Example:
        >>> import chainrule as cr
        >>> net = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU())
        >>> [name for name, _ in net.named_parameters()]
        ['0.weight', '0.bias']
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        if not -len(items) <= idx < len(items):
            raise IndexError(f"Sequential: index {idx} is out of range for {len(items)} modules")
        return items[idx][1]


class ModuleList(Module):
    """A list of modules whose parameters are registered (``0.weight``, ``1.weight``, ...).

    Example:
        >>> import chainrule as cr
        >>> layers = cr.nn.ModuleList([cr.nn.Linear(4, 4) for _ in range(3)])
        >>> x = cr.ones(1, 4)
        >>> for layer in layers:
        ...     x = layer(x)
        >>> len(layers), len(list(layers.parameters()))
        (3, 6)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, idx: int | slice) -> Any:
        values = list(self._modules.values())
        return ModuleList(values[idx]) if isinstance(idx, slice) else values[idx]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(idx % len(self)), module)


class _Keyed(Module):
    """The read-only mapping methods of ``ModuleDict`` and ``ParameterDict``, over the store
    (``_modules`` or ``_parameters``) named by ``_store``."""

    _store: str

    def _entries(self) -> dict[str, Any]:
        return self.__dict__[self._store]

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def keys(self) -> Iterable[str]:
        return self._entries().keys()

    def values(self) -> Iterable[Any]:
        return self._entries().values()

    def items(self) -> Iterable[tuple[str, Any]]:
        return self._entries().items()


class ModuleDict(_Keyed):
    """A dict of modules whose parameters are registered under their keys.

    Example:
        >>> import chainrule as cr
        >>> heads = cr.nn.ModuleDict({"cls": cr.nn.Linear(4, 3), "reg": cr.nn.Linear(4, 1)})
        >>> heads["reg"](cr.ones(2, 4)).shape, list(heads.keys())
        (chainrule.Size([2, 1]), ['cls', 'reg'])
    """

    _store = "_modules"

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        for k, m in (modules or {}).items():
            self.add_module(k, m)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


def _as_parameter(value: Any) -> Parameter:
    """A tensor as a ``Parameter`` (a plain tensor is wrapped, sharing its data)."""
    if isinstance(value, Parameter):
        return value
    if not isinstance(value, Tensor):
        raise TypeError(f"cannot register a {type(value).__name__} as a parameter "
                        "(chainrule.Tensor or chainrule.nn.Parameter expected)")
    return Parameter(value)


class ParameterList(Module):
    """A list of parameters registered under ``0``, ``1``, ...; plain tensors become
    ``Parameter``s.

    Example:
        >>> import chainrule as cr
        >>> ps = cr.nn.ParameterList([cr.zeros(2), cr.ones(3)])
        >>> [(name, tuple(p.shape)) for name, p in ps.named_parameters()]
        [('0', (2,)), ('1', (3,))]
    """

    def __init__(self, values: Iterable[Tensor] | None = None) -> None:
        super().__init__()
        for v in values or ():
            self.append(v)

    def append(self, value: Tensor) -> ParameterList:
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Tensor]) -> ParameterList:
        for v in values:
            self.append(v)
        return self

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())  # type: ignore[arg-type]

    def __getitem__(self, idx: int) -> Parameter:
        return list(self._parameters.values())[idx]  # type: ignore[return-value]

    def __setitem__(self, idx: int, value: Tensor) -> None:
        self.register_parameter(str(idx % len(self)), _as_parameter(value))


class ParameterDict(_Keyed):
    """A dict of parameters registered under their keys; plain tensors become ``Parameter``s.

    Example:
        >>> import chainrule as cr
        >>> pd = cr.nn.ParameterDict({"scale": cr.nn.Parameter(cr.ones(2))})
        >>> pd["scale"].shape, len(list(pd.parameters()))
        (chainrule.Size([2]), 1)
    """

    _store = "_parameters"

    def __init__(self, parameters: Mapping[str, Tensor] | None = None) -> None:
        super().__init__()
        for k, v in (parameters or {}).items():
            self[k] = v

    def __getitem__(self, key: str) -> Parameter:
        return self._parameters[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, value: Tensor) -> None:
        self.register_parameter(key, _as_parameter(value))

