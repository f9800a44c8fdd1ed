"""Anomaly detection: find the op that first produced a NaN or an infinity.

``detect_anomaly()`` (a context manager, like ``torch.autograd.detect_anomaly``) checks, while
active,

- every op's forward output: the error names the op, says whether its inputs were already
  non-finite (so the culprit is earlier) and shows where in the user's code the op was called;
- every gradient an op's backward returns: the error names the op and the input whose gradient
  went bad, with the forward call that created the node.

NOTE: the normal path pays nothing. The forward check swaps ``Op.apply`` for a checking version
only while a ``detect_anomaly`` block is open; the engine consults ``enabled`` (one module
attribute read per node) before calling an op's backward.
"""

from __future__ import annotations

import functools
import traceback
from typing import Any

from chainrule.autograd.function import Op
from chainrule.backend import xp
from chainrule.tensor import Tensor

enabled = False
"""True while a ``detect_anomaly`` block is open (read by the engine before each backward)."""

_depth = 0
_check_nan = True
_check_inf = True
_in_backward = 0
_plain_apply: Any = None


def is_anomaly_enabled() -> bool:
    """True while anomaly detection is on."""
    return enabled


def _bad(arr: Any) -> str | None:
    """'nan' / 'inf' if the floating array holds such a value that is being checked."""
    if not isinstance(arr, xp.ndarray) or arr.dtype.kind not in "fc":
        return None
    if _check_nan and _check_inf:
        if xp.isfinite(arr).all():
            return None
        return "nan" if xp.isnan(arr).any() else "inf"
    if _check_nan and xp.isnan(arr).any():
        return "nan"
    if _check_inf and xp.isinf(arr).any():
        return "inf"
    return None


def _where() -> str:
    """The innermost frames of the caller's code outside chainrule's internals."""
    frames = [f for f in traceback.extract_stack()[:-2]
              if "/chainrule/autograd/" not in f.filename
              and "/chainrule/ops/" not in f.filename and "/chainrule/tensor.py" not in f.filename]
    return "".join(traceback.format_list(frames[-3:])).rstrip()


def _checked_apply(cls: type[Op], *args: Any, **params: Any) -> Tensor:
    out = _plain_apply(cls, *args, **params)
    if _in_backward:
        return out
    kind = _bad(out.array)
    if kind is not None:
        bad_inputs = [f"input {i} (shape {tuple(a.shape)})" for i, a in enumerate(args)
                      if isinstance(a, Tensor) and _bad(a.array) is not None]
        origin = (f"its inputs were already non-finite: {', '.join(bad_inputs)}"
                  if bad_inputs else "its inputs were all finite, so this op produced it")
        raise RuntimeError(
            f"Function '{cls.name}' returned {kind} values in its forward output (shape "
            f"{tuple(out.shape)}); {origin}.\nCalled from:\n{_where()}"
        )
    if out.grad_fn is not None:
        out.grad_fn._anomaly_trace = _where()
    return out


def checked_backward(op: Op, g: Tensor) -> tuple[Tensor | None, ...]:
    """``op.backward(g)``, then check each returned gradient (called by the engine)."""
    global _in_backward
    _in_backward += 1
    try:
        grads = op.backward(g)
    finally:
        _in_backward -= 1
    for i, gi in enumerate(grads):
        kind = None if gi is None else _bad(gi.array)
        if kind is not None:
            trace = op.__dict__.get("_anomaly_trace")
            upstream = _bad(g.array)
            note = (f" (the incoming gradient already held {upstream} values)"
                    if upstream else " (the incoming gradient was finite)")
            raise RuntimeError(
                f"Function '{op.name}Backward' returned {kind} values in its {i}th output: the "
                f"gradient for input {i} (shape {tuple(gi.shape)}){note}."
                + (f"\nThe forward call that created this node:\n{trace}" if trace else
                   "\n(the node was created before anomaly detection was enabled)")
            )
    return grads


def _set_state(depth: int, check_nan: bool, check_inf: bool) -> tuple[int, bool, bool]:
    """Switch to the given state (patching ``Op.apply`` iff depth > 0); returns the old one."""
    global enabled, _depth, _check_nan, _check_inf, _plain_apply
    prev = (_depth, _check_nan, _check_inf)
    if depth > 0 and _depth == 0:
        _plain_apply = Op.__dict__["apply"].__func__
        Op.apply = classmethod(_checked_apply)  # type: ignore[method-assign,assignment]
    elif depth == 0 and _depth > 0:
        Op.apply = classmethod(_plain_apply)  # type: ignore[method-assign,assignment]
    _depth, _check_nan, _check_inf = depth, check_nan, check_inf
    enabled = depth > 0
    return prev


class detect_anomaly:
    """Context manager (and decorator) that checks every forward output and every backward
    gradient for NaN (``check_nan``) and ±inf (``check_inf``) and raises ``RuntimeError``
    naming the op. Slow: use it to debug, not to train.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.autograd.anomaly import detect_anomaly
        >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
        >>> try:
        ...     with detect_anomaly():
        ...         y = x.log()
        ... except RuntimeError as e:
        ...     print(str(e).split(";")[0])
        Function 'log' returned inf values in its forward output (shape (2,))
    """

    def __init__(self, check_nan: bool = True, check_inf: bool = True) -> None:
        self.check_nan = check_nan
        self.check_inf = check_inf
        self._prev = (0, True, True)

    def __enter__(self) -> detect_anomaly:
        self._prev = _set_state(_depth + 1, self.check_nan, self.check_inf)
        return self

    def __exit__(self, *exc: object) -> None:
        _set_state(*self._prev)

    def __call__(self, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan, self.check_inf):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off (``torch.autograd.set_detect_anomaly``): takes effect
    when called, and as a context manager restores the previous setting on exit."""

    def __init__(self, mode: bool, check_nan: bool = True, check_inf: bool = True) -> None:
        self._prev = _set_state(max(_depth, 1) if mode else 0, check_nan, check_inf)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _set_state(*self._prev)
