"""PyTorch's ``torch.nn.modules.container`` path: re-exports from ``chainrule.nn.containers``."""

from chainrule.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]
