"""Graph capture: ``chainrule.compile(step)`` traces a step (forward, backward, optimizer update)
and afterwards replays the recorded ops on the new inputs, without building graph objects or
running the Python around them.

A step is traced on its first two calls with the same input shapes, dtypes and module modes,
running eagerly both times; the two recordings must agree (same ops, same Python values), and a
tensor made in Python whose values differ between them (a one-hot target, a mask) stops the
compilation with ``CompileError`` rather than being frozen. From the third call on it is replayed.
Optimizer updates, ``zero_grad``, scheduler steps, gradient clipping and random draws are called
again on each replay (``autograd.tape.replayed``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chainrule import backend
from chainrule.autograd import anomaly, forward_ad
from chainrule.autograd.grad_mode import _mode
from chainrule.autograd.tape import CompileError, tape
from chainrule.tensor import Tensor

__all__ = ["compile", "CompileError", "CompiledFunction"]


def compile(fn: Callable[..., Any] | None = None) -> Any:
    """Compile ``fn`` (a training step, a model, any function of tensors) by graph capture.

    Usable as ``compile(fn)`` or as the decorator ``@compile``. The compiled function returns
    what ``fn`` returns, with tensors detached from any graph.

    Python in ``fn`` runs only while it is traced: values it computes from tensor data in Python
    (``.item()``, ``.numpy()``, ``if loss > 1``) are refused while tracing, and Python
    settings it reads (a dropout rate, a loss weight) are fixed at trace time; call ``reset()``
    after changing one. Learning rates are read by the optimizer at each step, so schedules work.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(3, 1)
        >>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
        >>> @cr.compile
        ... def step(x, y):
        ...     opt.zero_grad()
        ...     loss = cr.nn.functional.mse_loss(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> for _ in range(3):
        ...     loss = step(cr.ones(4, 3), cr.zeros(4, 1))
    """
    if fn is None:
        return CompiledFunction
    return CompiledFunction(fn)


class CompiledFunction:
    """``fn`` with one replayable program per input signature (see ``compile``)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())
        self._signatures: dict[Any, _Signature] = {}

    def reset(self) -> None:
        """Forget every trace; the next calls trace again."""
        self._signatures.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if tape.entries is not None:  # inside another compiled step: part of its trace
            return self.fn(*args, **kwargs)
        flat: list[Tensor] = []
        spec = _flatten((args, kwargs), flat)
        ids = [id(t.array) for t in flat]
        key = (spec, tuple((t.array.shape, t.array.dtype.str, t.requires_grad) for t in flat),
               tuple(map(ids.index, ids)),  # which arguments share an array
               _mode.enabled, backend.default_float())
        sig = self._signatures.get(key)
        if sig is None:
            sig = self._signatures[key] = _Signature()
        for program in sig.programs:
            if program.modes_hold():
                return program.run(flat)
        out, trace = _trace(self.fn, args, kwargs, flat)
        first = sig.pending
        if first is None or first.modes != trace.modes:
            sig.pending = trace
        else:
            sig.programs.append(_Program(first, trace))
            sig.pending = None
        return _detached(out)


def _detached(value: Any) -> Any:
    """``value`` with its tensors detached, as a replay returns them."""
    if isinstance(value, Tensor):
        return value.detach()
    if isinstance(value, (tuple, list)):
        return type(value)(_detached(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    return value


class _Signature:
    __slots__ = ("pending", "programs")

    def __init__(self) -> None:
        self.pending: _Trace | None = None
        self.programs: list[_Program] = []


def _flatten(value: Any, flat: list[Tensor]) -> Any:
    """The hashable structure of ``value`` with its tensors appended to ``flat``."""
    if isinstance(value, Tensor):
        flat.append(value)
        return Tensor
    if isinstance(value, (tuple, list)):
        return type(value), tuple(_flatten(v, flat) for v in value)
    if isinstance(value, dict):
        return dict, tuple((k, _flatten(v, flat)) for k, v in value.items())
    try:
        hash(value)
    except TypeError:
        raise CompileError(f"compile: the step's argument {value!r} is neither a tensor nor a "
                           "hashable Python value") from None
    return value


class _Trace:
    """One eager run of the step with everything it did recorded."""

    def __init__(self, entries: list[tuple[Any, ...]], modules: dict[int, Any],
                 flat: list[Tensor], out: Any) -> None:
        self.entries, self.flat, self.out = entries, flat, out
        self.modules = [m for m, _ in modules.values()]
        self.modes = tuple(training for _, training in modules.values())


def _trace(fn: Callable[..., Any], args: Any, kwargs: Any,
           flat: list[Tensor]) -> tuple[Any, _Trace]:
    if forward_ad.levels or anomaly.enabled:
        raise CompileError("compile: a step cannot be traced under forward-mode AD or anomaly "
                           "detection")
    tape.entries, tape.modules = [], {}
    type.__setattr__(Tensor, "array", _GUARDED_DATA)
    type.__setattr__(Tensor, "grad", _GUARDED_GRAD)
    try:
        out = fn(*args, **kwargs)
        return out, _Trace(tape.entries, tape.modules, flat, out)
    finally:
        tape.entries, tape.modules = None, {}
        type.__setattr__(Tensor, "array", _DATA)
        type.__setattr__(Tensor, "grad", _GRAD)


# While a step is traced, ``Tensor.array`` and ``Tensor.grad`` are properties that refuse the
# assignments a replay would miss (``p.data = ...``, ``x.grad = None``), and allow a new
# tensor's first value and the writes the tape records (``tape.writer``: an in-place op taking
# its result's array, the engine storing a gradient). Outside tracing they are the plain slots,
# at no cost.
_DATA, _GRAD = Tensor.__dict__["array"], Tensor.__dict__["grad"]


def _set_data(t: Tensor, value: Any) -> None:
    if tape.entries is not None and tape.writer is not t and _has(_DATA, t):
        _refuse_assignment("data", "in-place tensor ops (x.copy_(y), x.add_(y)) under no_grad")
    _DATA.__set__(t, value)


def _set_grad(t: Tensor, value: Any) -> None:
    if tape.entries is not None and tape.writer is not t and _has(_GRAD, t):
        _refuse_assignment("grad", "optimizer.zero_grad() or model.zero_grad()")
    _GRAD.__set__(t, value)


def _has(slot: Any, t: Tensor) -> bool:
    try:
        slot.__get__(t, Tensor)
    except AttributeError:  # a tensor being made
        return False
    return True


def _refuse_assignment(attr: str, instead: str) -> None:
    raise CompileError(f"compile: the step assigns a tensor's .{attr} in Python while it is "
                       f"traced; a replay would not repeat that. Use {instead}, or do it outside "
                       "the compiled function.")


_GUARDED_DATA = property(_DATA.__get__, _set_data)
_GUARDED_GRAD = property(_GRAD.__get__, _set_grad)


# ---- sources: where a replayed op finds each input ------------------------------------------
# An int is a slot of the program's value list (an argument or an op's output); the classes
# below read the rest when the op runs.

class _Live:
    """A tensor that outlives the step (a parameter, a buffer): its data at replay time."""

    __slots__ = ("t",)

    def __init__(self, t: Tensor) -> None:
        self.t = t

    def get(self, vals: list[Any]) -> Any:
        return self.t.array


class _GradOf(_Live):
    """The gradient array of a tensor that outlives the step, at replay time."""

    __slots__ = ()

    def get(self, vals: list[Any]) -> Any:
        return self.t.grad.array  # type: ignore[union-attr]


class _Const:
    """A value made in Python that was the same in both traces."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def get(self, vals: list[Any]) -> Any:
        return self.value


class _Call:
    """A ``replayed`` function and its arguments, with tensors as sources."""

    __slots__ = ("fn", "args", "kwargs")

    def __init__(self, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs


_TENSOR, _ARRAY = "tensor", "array"
"""Markers of a template: a source to read and wrap as a tensor, or to pass as an array."""


from chainrule.compiled_program import _Program  # noqa: E402
