"""Reverse-mode automatic differentiation: the engine, grad modes, custom functions, checks."""

from chainrule.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from chainrule.autograd.custom import Function, FunctionCtx, once_differentiable
from chainrule.autograd.engine import backward, grad
from chainrule.autograd.function import OPS, Op, register
from chainrule.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from chainrule.autograd.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "OPS", "Function", "FunctionCtx", "GradcheckError", "Op", "backward", "detect_anomaly",
    "enable_grad", "grad", "gradcheck", "gradgradcheck", "is_anomaly_enabled", "is_grad_enabled",
    "inference_mode", "no_grad", "once_differentiable", "register", "set_detect_anomaly",
    "set_grad_enabled",
]
