"""``chainrule.autocast``: regions where matrix products and convolutions run in a low-precision
dtype (bfloat16 by default on the CPU) and losses in float32, as ``torch.autocast``.

The casts happen where ops are applied (``Op.apply`` consults ``autograd.autocast_policy``), so
they are recorded in the graph like any op and gradients flow back to each parameter in its own
dtype. Casts of the same weight are not cached between ops, unlike PyTorch's weight cache: the
values are the same, the cost is one more cast per use.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from chainrule import backend
from chainrule.autograd.autocast_policy import policy
from chainrule.tensor import Tensor

F = TypeVar("F", bound=Callable[..., Any])

_SUPPORTED = ("bfloat16", "float16")
_DEVICES = ("cpu", "cuda", "mps", "xpu", "xla", "hpu", "mtia", "meta")
"""Device types PyTorch's autocast knows; all but the CPU are absent here, so disabled."""


class autocast:  # noqa: N801  (PyTorch's name)
    """Context manager and decorator that runs the ops inside it in mixed precision.

    Matrix products (``matmul``, ``linear``, ``einsum``, ``bmm``) and convolutions cast their
    floating inputs to ``dtype``; ``prod`` and the losses cast theirs to float32; every other op
    runs in the dtypes it is given, promoting to the widest. Regions nest: an inner
    ``autocast(enabled=False)`` turns it off, and leaving restores the outer state.

    Args:
        device_type: ``"cpu"``, the one device chainrule computes on; another device PyTorch
            knows (``"cuda"``, ``"mps"``, ...) gives a warning and a disabled region, as in
            PyTorch on a machine without it.
        dtype: the low-precision dtype, ``chainrule.bfloat16`` (default) or ``chainrule.float16``.
        enabled: whether autocasting is on inside the region.
        cache_enabled: accepted for PyTorch compatibility; casts are not cached.

    Example:
        >>> import chainrule as cr
        >>> x, w = cr.randn(2, 3), cr.randn(4, 3)
        >>> with cr.autocast("cpu"):
        ...     y = cr.nn.functional.linear(x, w)
        >>> y.dtype
        dtype(bfloat16)
    """

    def __init__(self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICES:
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        self.device = device_type
        self.fast_dtype = backend.bfloat16() if dtype is None else backend.xp.dtype(dtype)
        self._enabled = enabled
        if enabled and device_type != "cpu":
            warnings.warn(f"User provided device_type of '{device_type}', but {device_type} is "
                          "not available (chainrule computes on the CPU). Disabling",
                          stacklevel=2)
            self._enabled = False
        if self._enabled and self.fast_dtype.name not in _SUPPORTED:
            warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCPU Autocast only supports dtype of chainrule.bfloat16, "
                          "chainrule.float16 currently.", stacklevel=2)
            self._enabled = False
        self._prev: list[Any] = []

    def __enter__(self) -> autocast:
        self._prev.append(policy.dtype)
        policy.dtype = self.fast_dtype if self._enabled else None
        return self

    def __exit__(self, *exc: object) -> None:
        policy.dtype = self._prev.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with autocast(self.device, self.fast_dtype, self._enabled):
                return fn(*args, **kwargs)

        return run  # type: ignore[return-value]


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether an enabled ``autocast`` region is open (the CPU is the one device).

    Example:
        >>> import chainrule as cr
        >>> with cr.autocast("cpu"):
        ...     print(cr.is_autocast_enabled("cpu"))
        True
        >>> cr.is_autocast_enabled("cpu")
        False
    """
    return device_type == "cpu" and policy.dtype is not None


def get_autocast_dtype(device_type: str = "cpu") -> Any:
    """The dtype ``autocast`` uses on ``device_type`` (bfloat16 unless a region says otherwise).

    Example:
        >>> import chainrule as cr
        >>> cr.get_autocast_dtype("cpu") == cr.bfloat16
        True
    """
    return policy.dtype if policy.dtype is not None else backend.bfloat16()


def float32_op(fn: F) -> F:
    """Decorator for composite functions on PyTorch's float32 autocast list (the losses): under
    autocast their floating tensor arguments are cast to float32 and autocasting is off inside,
    so the whole computation runs in float32. Outside autocast it calls ``fn`` unchanged."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if policy.dtype is None:
            return fn(*args, **kwargs)
        args = tuple(_to_float32(a) for a in args)
        kwargs = {k: _to_float32(v) for k, v in kwargs.items()}
        prev, policy.dtype = policy.dtype, None
        try:
            return fn(*args, **kwargs)
        finally:
            policy.dtype = prev

    return run  # type: ignore[return-value]


def _to_float32(value: Any) -> Any:
    if isinstance(value, Tensor) and backend.is_floating(value.dtype):
        return value.to(backend.float32)
    return value
