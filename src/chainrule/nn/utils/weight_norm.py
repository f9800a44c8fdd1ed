"""The older, hook-based weight normalisation (``torch.nn.utils.weight_norm`` and
``remove_weight_norm``): the parameter ``name`` is replaced by ``name_g`` (magnitude) and
``name_v`` (direction), and a forward pre-hook recomputes ``module.<name>`` = g · v / ‖v‖
before every call. New code should use ``parametrizations.weight_norm``."""

from __future__ import annotations

from typing import Any

from chainrule.nn.modules.module import Module, Parameter
from chainrule.nn.utils.parametrizations import _axis, _norm_except_dim, _weight_norm
from chainrule.tensor import Tensor


class WeightNorm:
    """The forward pre-hook that recomputes ``module.<name>`` from ``name_g`` and ``name_v``."""

    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def _hooks(module: Module) -> dict[int, Any]:
    return module.__dict__.get("_hooks", {}).get("pre", {})


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Replace parameter ``name`` by ``name_g`` = ‖w‖ (over every axis but ``dim``; all of w
    with ``dim=None``) and ``name_v`` = w, recomputing w = g · v / ‖v‖ before each forward
    (``torch.nn.utils.weight_norm``).

    Example:
        >>> import chainrule as cr
        >>> m = weight_norm(cr.nn.Linear(20, 40), name="weight")
        >>> m.weight_g.shape, m.weight_v.shape
        (chainrule.Size([40, 1]), chainrule.Size([40, 20]))
    """
    for hook in _hooks(module).values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter "
                               f"{name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter '{name}'")
    fn = WeightNorm(name, -1 if dim is None else dim)
    del module._parameters[name]
    module.register_parameter(name + "_g", Parameter(
        _norm_except_dim(weight, _axis(weight, fn.dim)).array.copy()))
    module.register_parameter(name + "_v", Parameter(weight.array))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo :func:`weight_norm`: ``name`` becomes a plain parameter holding g · v / ‖v‖."""
    hooks = _hooks(module)
    for key, hook in list(hooks.items()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            weight = hook.compute_weight(module)
            del hooks[key]
            delattr(module, name + "_g")
            delattr(module, name + "_v")
            module.__dict__.pop(name, None)
            module.register_parameter(name, Parameter(weight.array.copy()))
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")


__all__ = ["remove_weight_norm", "weight_norm"]
