"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, init."""

from chainrule.nn.containers import ModuleDict, ModuleList, Sequential
from chainrule.nn.module import Module, Parameter

__all__ = ["Module", "ModuleDict", "ModuleList", "Parameter", "Sequential"]
