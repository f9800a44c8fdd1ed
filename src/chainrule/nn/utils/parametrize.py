"""Parametrizations (``torch.nn.utils.parametrize``): a module's tensor computed, on every
access, by a small module from unconstrained ``original`` tensors, so training moves the
originals while the layer always sees the constrained value (a normalised weight, a weight of
spectral norm 1, ...).

``register_parametrization(module, "weight", p)`` moves ``module.weight`` to
``module.parametrizations.weight.original`` (or ``original0``, ``original1``, ... when
``p.right_inverse`` splits it into several tensors) and makes ``module.weight`` a property that
returns ``p(original)``. As in PyTorch, the module's class is swapped for a generated subclass
(``ParametrizedLinear``) that holds the property; the state_dict keys are PyTorch's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.nn.modules.container import ModuleDict, ModuleList
from chainrule.nn.modules.module import Module, Parameter
from chainrule.tensor import Tensor

_cache: dict[tuple[int, str], Tensor] = {}
_cache_depth = 0


@contextmanager
def cached() -> Iterator[None]:
    """Within this context each parametrized tensor is computed once, at its first access
    (``torch.nn.utils.parametrize.cached``), e.g. for a recurrent layer that reads its weight
    at every step."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and its ``original`` tensor(s).

    The originals come from the tensor through each parametrization's ``right_inverse`` (the
    identity when it has none), last parametrization first.
    """

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new: Any = original
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    new = m.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if not unsafe and (new.shape != original.shape or new.dtype != original.dtype):
                raise ValueError(f"When `right_inverse` outputs one tensor, it may not change "
                                 f"the shape or dtype: {original.shape} {original.dtype} became "
                                 f"{new.shape} {new.dtype}")
            original.array = new.array  # the same Parameter object, so optimizers keep it
            self._register("original", original)
        else:
            for i, t in enumerate(new):
                self._register(f"original{i}", Parameter(t.array.copy(),
                                                         requires_grad=original.requires_grad))

    def _register(self, name: str, t: Tensor) -> None:
        if isinstance(t, Parameter):
            self.register_parameter(name, t)
        else:
            self.register_buffer(name, t)

    def originals(self) -> list[Tensor]:
        if self.is_tensor:
            return [self.original]
        return [getattr(self, f"original{i}") for i in range(self.ntensors)]

    def forward(self) -> Tensor:
        mods = list(self)
        x = mods[0](*self.originals())
        for m in mods[1:]:
            x = m(x)
        return x

    def right_inverse(self, value: Tensor) -> None:
        """Set the originals so that the parametrized tensor becomes ``value``."""
        with no_grad():
            for m in reversed(list(self)):
                if hasattr(m, "right_inverse"):
                    value = m.right_inverse(value)
            news = [value] if self.is_tensor else list(value)
            if len(news) != self.ntensors:
                raise ValueError(f"right_inverse must return {self.ntensors} tensors, got "
                                 f"{len(news)}")
            for orig, new in zip(self.originals(), news):
                if orig.shape != new.shape:
                    raise ValueError(f"right_inverse returned a tensor of shape {new.shape} for "
                                     f"an original of shape {orig.shape}")
                orig.array[...] = new.array
                orig._version += 1


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has any parametrization, or one on ``tensor_name``."""
    plists = module._modules.get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    """The module's class before parametrizations swapped it for a generated subclass."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def _inject_class(module: Module) -> None:
    cls = type(module)

    def __setattr__(self: Module, name: str, value: Any) -> None:
        if is_parametrized(self, name):
            self.parametrizations[name].right_inverse(value)
        else:
            cls.__setattr__(self, name, value)

    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,),
                            {"__setattr__": __setattr__, "__module__": cls.__module__})


def _inject_property(module: Module, name: str) -> None:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if not _cache_depth:
            return plist()
        key = (id(self), name)
        if key not in _cache:
            _cache[key] = plist()
        return _cache[key]

    setattr(type(module), name, property(get))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to its original
    (``torch.nn.utils.parametrize.register_parametrization``); registering a second one on the
    same tensor chains it after the first.

    Args:
        module: the module holding the parameter or buffer.
        tensor_name: its name (``"weight"``).
        parametrization: a module whose ``forward`` maps the original(s) to the tensor; an
            optional ``right_inverse`` maps a tensor to original(s) (used at registration and
            on assignment ``module.weight = value``).
        unsafe: allow the parametrization to change the tensor's shape or dtype.

    Example:
        >>> import chainrule as cr
        >>> class Symmetric(cr.nn.Module):
        ...     def forward(self, x):
        ...         return x.triu() + x.triu(1).mT
        >>> layer = cr.nn.Linear(3, 3)
        >>> _ = register_parametrization(layer, "weight", Symmetric())
        >>> w = layer.weight
        >>> bool((w == w.mT).all())
        True
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            before = getattr(module, tensor_name)
            after = parametrization(before)
            if after.shape != before.shape or after.dtype != before.dtype:
                raise ValueError(f"Registering a parametrization may not change the shape or "
                                 f"dtype of the tensor, unless `unsafe` flag is enabled: "
                                 f"{before.shape} {before.dtype} became {after.shape} "
                                 f"{after.dtype}")
        plist.append(parametrization)
        plist.unsafe = plist.unsafe or unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{type(module).__name__}' does not have a parameter, a "
                         f"buffer, or a parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"register_parametrization: {type(module).__name__}.{tensor_name} is "
                         f"None")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    if not unsafe:
        with no_grad():
            out = plist()
        if out.shape != original.shape or out.dtype != original.dtype:
            raise ValueError(f"Registering a parametrization may not change the shape or dtype "
                             f"of the tensor, unless `unsafe` flag is enabled: "
                             f"{original.shape} {original.dtype} became {out.shape} "
                             f"{out.dtype}")
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    _inject_property(module, tensor_name)
    return module


def remove_parametrizations(module: Module, tensor_name: str,
                            leave_parametrized: bool = True) -> Module:
    """Undo the parametrizations of ``tensor_name``
    (``torch.nn.utils.parametrize.remove_parametrizations``): it becomes a plain parameter
    again, holding its current parametrized value (``leave_parametrized``) or its original.
    With no parametrization left, the module gets its own class back."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {type(module).__name__} does not have a parametrization on "
                         f"{tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            if value.shape != original.shape:
                raise ValueError(f"remove_parametrizations: the parametrized tensor has shape "
                                 f"{value.shape}, the original {original.shape}; pass "
                                 f"leave_parametrized=False")
            original.array = value.array.astype(original.dtype, copy=True)
            original._version += 1
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name)
        requires = any(o.requires_grad for o in plist.originals())
        original = Parameter(value.array.copy(), requires_grad=requires)
    delattr(type(module), tensor_name)
    delattr(module.parametrizations, tensor_name)
    if isinstance(original, Parameter):
        module.register_parameter(tensor_name, original)
    else:
        module.register_buffer(tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module


__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]
