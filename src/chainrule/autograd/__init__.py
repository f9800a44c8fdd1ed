"""Reverse-mode automatic differentiation: the engine, grad modes, custom functions, checks."""

from chainrule.autograd.custom import Function, FunctionCtx
from chainrule.autograd.engine import backward, grad
from chainrule.autograd.function import OPS, Op, register
from chainrule.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "OPS", "Function", "FunctionCtx", "GradcheckError", "Op", "backward", "enable_grad", "grad",
    "gradcheck", "gradgradcheck", "is_grad_enabled", "no_grad", "register", "set_grad_enabled",
]
