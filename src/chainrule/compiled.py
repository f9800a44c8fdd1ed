"""Graph capture: ``chainrule.compile(step)`` traces a step (forward, backward, optimizer update)
and afterwards replays the recorded ops on the new inputs, without building graph objects or
running the Python around them.

A step is traced on its first two calls with the same input shapes, dtypes and module modes,
running eagerly both times; the two recordings must agree (same ops, same Python values), and a
tensor made in Python whose values differ between them (a one-hot target, a mask) stops the
compilation with ``CompileError`` rather than being frozen. From the third call on it is replayed.
Optimizer updates, ``zero_grad``, scheduler steps, gradient clipping and random draws are called
again on each replay (``autograd.tape.replayed``).

The program is built from the two traces: each input an op read is traced back to where it came
from — an argument, an earlier op's output, an array an op saved on itself, a ``replayed`` call's
result, a tensor that outlives the step (read live), or a constant made in Python (kept only if
both traces made the same one).
"""

from __future__ import annotations

import copy
import functools
import math
import weakref
from collections.abc import Callable
from typing import Any

from chainrule import backend, fusion, kernels
from chainrule.autograd import anomaly, forward_ad
from chainrule.autograd.engine import store
from chainrule.autograd.grad_mode import _mode
from chainrule.autograd.tape import ASSIGN, BACKWARD, CALL, GRAD, OP, CompileError, tape
from chainrule.backend import xp
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


class _Recording(list[tuple[Any, ...]]):
    """The tape of a step being traced, kept as an outline of what ``_Program`` reads, so that
    a trace holds no more of the step's arrays than the eager step does: each array the step
    produces (an op's output, a backward's gradients, a ``replayed`` call's result, a stored
    ``.grad``) is recorded as a stand-in of the same shape and dtype that holds no data, one per
    array, so that which array fed which op is kept; arrays read before the step produced them
    (made in Python, read live) are recorded as they are, and ``_Program`` compares their
    values; ops keep their type, parameters and ``needs_input_grad``."""

    def __init__(self, flat: list[Tensor]) -> None:
        super().__init__()
        # id(produced array or op) -> its stand-in or outline, while the original is alive
        self._stand_ins: dict[int, Any] = {}
        self._ops: dict[int, Any] = {}
        self._tensors: dict[int, Tensor] = {}  # id(stand-in) -> a tensor over it
        self._args = {id(t.array) for t in flat}

    def append(self, e: tuple[Any, ...]) -> None:
        kind = e[0]
        if kind == OP:
            op = self._op(e[1])
            args = tuple(self.read(x) for x in e[2])
            e = OP, op, args, self._produce(e[3])
        elif kind == BACKWARD:
            g = self.read(e[2])
            e = BACKWARD, self._op(e[1]), g, self._produce(e[3])
        elif kind == GRAD:
            g = self.read(e[2])
            produced = id(e[1].array) not in self._args  # as _Program binds it (_GradOf)
            e = GRAD, e[1], g, e[3], self._produce(e[4]) if produced else e[4]
        elif kind == ASSIGN:
            e = ASSIGN, self.read(e[1]), self.read(e[2])
        else:
            args, kwargs = self.read(e[2]), self.read(e[3])
            e = CALL, e[1], args, kwargs, self._produce(e[4])
        super().append(e)

    def read(self, value: Any) -> Any:
        """``value`` (an input) with the tensors and arrays produced so far as their stand-ins."""
        if isinstance(value, Tensor):
            stand_in = self._stand_ins.get(id(value.array))
            if stand_in is None:
                return value
            t = self._tensors.get(id(stand_in))
            if t is None:
                t = self._tensors[id(stand_in)] = _new(type(value))
                t.array, t.grad, t.requires_grad, t.grad_fn = stand_in, None, False, None
            return t
        if isinstance(value, _ndarray):
            return self._stand_ins.get(id(value), value)
        if isinstance(value, (tuple, list, dict)):
            return _rebuilt(value, self.read)
        return value

    def _op(self, op: Any) -> Any:
        outline = self._ops.get(id(op))
        if outline is None:
            outline = self._ops[id(op)] = _new(type(op))
            weakref.finalize(op, self._ops.pop, id(op), None)  # its id may be reused
            outline.params = self.read(op.params)
            if hasattr(op, "needs_input_grad"):
                outline.needs_input_grad = op.needs_input_grad
        return outline

    def _produce(self, value: Any) -> Any:
        """``value`` (a result) with its tensors and arrays replaced by new stand-ins."""
        if isinstance(value, (Tensor, _ndarray)):
            arr = _arr(value)
            if id(arr) not in self._stand_ins:
                self._stand_ins[id(arr)] = xp.broadcast_to(xp.zeros((), arr.dtype), arr.shape)
                weakref.finalize(arr, self._stand_ins.pop, id(arr), None)
            return self.read(value)
        if isinstance(value, (tuple, list)):
            return _rebuilt(value, self._produce)
        return value


def _rebuilt(value: Any, f: Callable[[Any], Any]) -> Any:
    """``value`` (a tuple, list or dict, of its own type) with ``f`` applied to its items."""
    if isinstance(value, dict):
        items = {k: f(v) for k, v in value.items()}
        if all(items[k] is v for k, v in value.items()):
            return value
        new = copy.copy(value)
        new.update(items)
        return new
    parts = [f(v) for v in value]
    if all(x is y for x, y in zip(parts, value)):
        return value
    if isinstance(value, list):
        return type(value)(parts)
    return value._make(parts) if hasattr(value, "_make") else type(value)(parts)


def _trace(fn: Callable[..., Any], args: Any, kwargs: Any,
           flat: list[Tensor]) -> tuple[Any, _Trace]:
    if forward_ad.levels or anomaly.enabled:
        raise CompileError("compile: a step cannot be traced under forward-mode AD or anomaly "
                           "detection")
    recording = _Recording(flat)
    tape.entries, tape.modules = recording, {}
    type.__setattr__(Tensor, "array", _GUARDED_DATA)
    type.__setattr__(Tensor, "grad", _GUARDED_GRAD)
    try:
        out = fn(*args, **kwargs)
        return out, _Trace(recording, tape.modules, flat, recording.read(out))
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


# ---- the replayed program ------------------------------------------------------------------------


_ndarray = xp.ndarray


_new = object.__new__


class _Tmpl:
    """A value rebuilt at each replay: ``kind`` is _TENSOR or _ARRAY (``payload`` a source) or a
    container type (``payload`` its items as templates or literals)."""

    __slots__ = ("kind", "payload")

    def __init__(self, kind: Any, payload: Any) -> None:
        self.kind, self.payload = kind, payload


def _fill(t: Any, vals: list[Any]) -> Any:
    if t.__class__ is not _Tmpl:
        return t
    kind, p = t.kind, t.payload
    if kind is _TENSOR or kind is _ARRAY:
        arr = vals[p] if p.__class__ is int else p.get(vals)
        return Tensor._wrap(arr) if kind is _TENSOR else arr
    if kind is dict:
        return {k: _fill(v, vals) for k, v in p}
    return kind(_fill(v, vals) for v in p)


class _Program:
    """The recorded step as a list of instructions over a list of values (see module doc)."""

    def __init__(self, a: _Trace, b: _Trace) -> None:
        self.modules, self.modes = b.modules, b.modes
        self._ids_a: dict[int, Any] = {}
        self._ids_b: dict[int, Any] = {}
        self._ops: dict[int, tuple[Any, ...]] = {}  # id(traced op) -> its OP instruction
        self._specs: dict[int, tuple[tuple[int, ...], Any]] = {}  # slot -> (shape, dtype)
        self._where = "its arguments"
        for i, (ta, tb) in enumerate(zip(a.flat, b.flat)):
            self._bind(ta.array, tb.array, i)
        self.nargs = self.nslots = len(b.flat)
        if len(a.entries) != len(b.entries):
            self._differ(f"the first call recorded {len(a.entries)} steps, the second "
                         f"{len(b.entries)}")
        code = [self._instruction(k, ea, eb) for k, (ea, eb) in
                enumerate(zip(a.entries, b.entries))]
        differentiated = {id(ins[1]) for ins in code if ins[0] == BACKWARD}
        code = [ins[:5] + (id(ins[1]) not in differentiated, ins[6]) if ins[0] == OP else ins
                for ins in code]
        self._where = "its return value"
        self.out = self._template(a.out, b.out)
        if kernels.enabled():
            code = fusion.fuse(code, self._spec, _used, set(_template_slots(self.out)))
        self.code = _with_frees(code, self.out)
        del self._ids_a, self._ids_b, self._ops, self._specs

    def modes_hold(self) -> bool:
        """Whether every module the step called is in the train/eval mode it was traced in."""
        for m, training in zip(self.modules, self.modes):
            if m.training is not training:
                return False
        return True

    # ---- building -------------------------------------------------------------------------
    def _instruction(self, k: int, ea: tuple[Any, ...], eb: tuple[Any, ...]) -> tuple[Any, ...]:
        kind = eb[0]
        if kind in (OP, BACKWARD):
            self._where = f"{'op' if kind == OP else 'the backward of op'} {k} ({eb[1].name})"
        elif kind == CALL:
            self._where = f"step {k} (a call of {getattr(eb[1], '__qualname__', eb[1])})"
        else:
            self._where = f"step {k} ({'gradient store' if kind == GRAD else 'in-place write'})"
        if ea[0] != kind or type(ea[1]) is not type(eb[1]) or (kind == CALL and ea[1] is not eb[1]):
            self._differ("a different operation ran")
        if kind == OP:
            return self._op(k, ea, eb)
        if kind == BACKWARD:
            return self._backward(ea, eb)
        if kind == GRAD:
            leaf = self._leaf(ea[1], eb[1])
            ins = GRAD, leaf, self._source(ea[2], eb[2]), eb[3], ()
            if leaf is eb[1]:  # the step may read p.grad afterwards (a hand-written update)
                self._bind(ea[4].array, eb[4].array, _GradOf(leaf))
            return ins
        if kind == ASSIGN:
            dst = self._lookup(ea[1].array, eb[1].array)
            if dst is None:
                if ea[1] is not eb[1]:
                    self._differ("it writes in place into a tensor made in Python in the step")
                dst = _Live(eb[1])
            return ASSIGN, dst, self._source(ea[2], eb[2]), ()
        call = _Call(eb[1], self._template(ea[2], eb[2]), self._template(ea[3], eb[3]))
        return CALL, call, self._outputs(ea[4], eb[4]), ()

    def _op(self, k: int, ea: tuple[Any, ...], eb: tuple[Any, ...]) -> tuple[Any, ...]:
        op_a, op_b = ea[1], eb[1]
        if len(ea[2]) != len(eb[2]) or op_a.params.keys() != op_b.params.keys():
            self._differ("it was called with different arguments")
        srcs = tuple(self._source(x, y) for x, y in zip(ea[2], eb[2]))
        dyn = []
        for name, vb in op_b.params.items():
            t = self._template(op_a.params[name], vb)
            if t.__class__ is _Tmpl:
                dyn.append((name, t))
        op = _new(type(op_b))  # a fresh node: what the forward saves is set again each replay
        op.params = {k: v for k, v in op_b.params.items() if k not in dict(dyn)}
        op.__dict__.update(op.params)
        if hasattr(op_b, "needs_input_grad"):
            op.needs_input_grad = op_b.needs_input_grad
        slot = self.nslots
        self.nslots += 1
        self._bind(ea[3].array, eb[3].array, slot)
        ins = (OP, op, srcs, tuple(dyn), slot, True, ())  # True: no backward (yet)
        self._ops[id(op_a)] = self._ops[id(op_b)] = ins
        return ins

    def _backward(self, ea: tuple[Any, ...], eb: tuple[Any, ...]) -> tuple[Any, ...]:
        ins = self._ops.get(id(eb[1]))
        if ins is None or self._ops.get(id(ea[1])) is not ins:
            self._differ("it differentiates an op that was not recorded in the step")
        _, op, srcs, _, slot, _, _ = ins
        g = self._source(ea[2], eb[2])  # before binding the results: a backward may return g
        if len(ea[3]) != len(eb[3]) or any((x is None) != (y is None)
                                           for x, y in zip(ea[3], eb[3])):
            self._differ("it returned different gradients")
        return BACKWARD, op, srcs, slot, g, self._outputs(ea[3], eb[3]), ()

    def _outputs(self, ra: Any, rb: Any) -> Any:
        """New slots for the tensors or arrays in a backward's or a call's result: an int, a
        tuple of ints (None for other items), or None."""
        if isinstance(rb, (Tensor, _ndarray)) and isinstance(ra, (Tensor, _ndarray)):
            self._bind(_arr(ra), _arr(rb), self.nslots)
            self.nslots += 1
            return self.nslots - 1
        if isinstance(rb, (tuple, list)) and isinstance(ra, (tuple, list)) and len(ra) == len(rb):
            return tuple(self._outputs(x, y) for x, y in zip(ra, rb))
        return None

    def _leaf(self, la: Tensor, lb: Tensor) -> Any:
        i = self._lookup(la.array, lb.array)
        if i.__class__ is int and i < self.nargs:
            return i
        if la is not lb:
            self._differ("it stores a gradient into a tensor made in Python in the step")
        return lb

    def _bind(self, xa: Any, xb: Any, source: Any) -> None:
        self._ids_a[id(xa)] = source
        self._ids_b[id(xb)] = source
        if source.__class__ is int and isinstance(xb, _ndarray):
            self._specs[source] = xb.shape, xb.dtype

    def _lookup(self, xa: Any, xb: Any) -> Any:
        sa, sb = self._ids_a.get(id(xa)), self._ids_b.get(id(xb))
        if sa is not sb and sa != sb:
            self._differ("an input came from a different place")
        return sb

    def _source(self, ta: Tensor, tb: Tensor) -> Any:
        """Where op input ``tb`` (``ta`` in the first trace) comes from at replay."""
        src = self._lookup(ta.array, tb.array)
        if src is not None:
            return src
        if ta is tb:
            return _Live(tb)
        if not _equal(ta.array, tb.array):
            seen = f" ({ta.array.item()!r}, then {tb.array.item()!r})" if tb.array.size == 1 else ""
            self._differ(f"an input of shape {tuple(tb.shape)} was made in Python from values "
                         f"that changed between the calls{seen} (a one-hot target, a mask, a "
                         "statistic, a Python number); make it with tensor ops or pass it as an "
                         "argument")
        return _Const(tb.array.copy())

    def _template(self, va: Any, vb: Any) -> Any:
        """``vb`` as a literal, or as a ``_Tmpl`` when it holds values produced in the step."""
        if isinstance(vb, (Tensor, _ndarray)):
            if type(va) is not type(vb):
                self._differ("an argument changed type")
            src = self._lookup(_arr(va), _arr(vb))
            if src is not None:
                return _Tmpl(_TENSOR if isinstance(vb, Tensor) else _ARRAY, src)
            if va is not vb and not _equal(_arr(va), _arr(vb)):
                self._differ(f"an argument of shape {tuple(vb.shape)} was made in Python from "
                             "values that changed between the calls")
            return vb
        if isinstance(vb, (tuple, list, dict)) and type(va) is type(vb) and len(va) == len(vb):
            if isinstance(vb, dict):
                if va.keys() != vb.keys():
                    self._differ("an argument changed")
                items = [(k, self._template(va[k], vb[k])) for k in vb]
                if any(v.__class__ is _Tmpl for _, v in items):
                    return _Tmpl(dict, items)
                return vb
            parts = [self._template(x, y) for x, y in zip(va, vb)]
            if any(v.__class__ is _Tmpl for v in parts):
                return _Tmpl(type(vb), parts)
            return vb
        if not _same(va, vb):
            self._differ(f"a Python value changed from {va!r} to {vb!r}")
        return vb

    def _spec(self, src: Any) -> tuple[tuple[int, ...], Any] | None:
        """A source's traced (shape, dtype); None for a gradient read live, which may change."""
        if src.__class__ is int:
            return self._specs.get(src)
        arr = src.value if src.__class__ is _Const else src.t.array if src.__class__ is _Live \
            else None
        return (arr.shape, arr.dtype) if isinstance(arr, _ndarray) else None

    def _differ(self, detail: str) -> None:
        raise CompileError(
            f"compile: the step did not repeat itself between its first two calls at "
            f"{self._where}: {detail}. A compiled step must run the same ops on every call "
            "with the same Python values; the step ran eagerly both times."
        )

    # ---- replay ---------------------------------------------------------------------------
    def run(self, flat: list[Tensor]) -> Any:
        """Replay the step on new arguments (same shapes and dtypes as traced)."""
        vals: list[Any] = [None] * self.nslots
        vals[:self.nargs] = [t.array for t in flat]
        owned: set[int] = set()
        for ins in self.code:
            kind = ins[0]
            if kind == OP:
                _, op, srcs, dyn, slot, forget, free = ins
                for name, t in dyn:
                    op.__dict__[name] = _fill(t, vals)
                out = op.forward(*[vals[s] if s.__class__ is int else s.get(vals) for s in srcs])
                if out.__class__ is not _ndarray:
                    out = xp.asarray(out)
                vals[slot] = out
                if forget:  # nothing will read what the forward saved
                    _reset(op)
            elif kind == BACKWARD:
                _, op, srcs, slot, src, outs, free = ins
                op.inputs = tuple([Tensor._wrap(vals[s] if s.__class__ is int else s.get(vals))
                                   for s in srcs])
                op.out = vals[slot]
                g = vals[src] if src.__class__ is int else src.get(vals)
                prev, _mode.enabled = _mode.enabled, False
                try:
                    _put(vals, outs, op.backward(Tensor._wrap(g)))
                finally:
                    _mode.enabled = prev
                op.inputs = op.out = None
                _reset(op)
            elif kind == GRAD:
                _, leaf, src, may_own, free = ins
                g = vals[src] if src.__class__ is int else src.get(vals)
                store(flat[leaf] if leaf.__class__ is int else leaf, Tensor._wrap(g), False,
                      owned if may_own else None)
            elif kind == fusion.FUSED:
                _, kernel, free = ins
                kernel.run(vals)
            elif kind == ASSIGN:
                _, dst, src, free = ins
                target = vals[dst] if dst.__class__ is int else dst.get(vals)
                value = vals[src] if src.__class__ is int else src.get(vals)
                xp.copyto(target, xp.broadcast_to(value, target.shape), casting="unsafe")
            else:
                _, call, outs, free = ins
                _put(vals, outs, call.fn(*_fill(call.args, vals), **_fill(call.kwargs, vals)))
            for s in free:
                vals[s] = None
        return _fill(self.out, vals)


def _reset(op: Any) -> None:
    """Drop what an op saved in its forward, keeping its parameters."""
    d = op.__dict__
    d.clear()
    d.update(op.params)


def _put(vals: list[Any], outs: Any, result: Any) -> None:
    """Store a backward's or a call's result into the slots given by ``_Program._outputs``."""
    if outs.__class__ is int:
        vals[outs] = _arr(result)
    elif outs is not None:
        for s, r in zip(outs, result):
            if s is not None:
                _put(vals, s, r)


def _with_frees(code: list[tuple[Any, ...]], out: Any) -> list[tuple[Any, ...]]:
    """Each instruction with the slots read for the last time there appended, so replay drops
    each intermediate array as early as the eager engine would."""
    last: dict[int, int] = {}
    for i, ins in enumerate(code):
        for s in _used(ins):
            if s.__class__ is int:
                last[s] = i
    kept = set(_template_slots(out))
    frees: list[list[int]] = [[] for _ in code]
    for s, i in last.items():
        if s not in kept:
            frees[i].append(s)
    return [ins[:-1] + (tuple(f),) for ins, f in zip(code, frees)]


def _used(ins: tuple[Any, ...]) -> list[Any]:
    """The sources an instruction reads and the slots it writes."""
    kind = ins[0]
    if kind == OP:
        return [*ins[2], *_template_slots(ins[3]), ins[4]]
    if kind == BACKWARD:
        return [*ins[2], ins[3], ins[4], *_output_slots(ins[5])]
    if kind == CALL:
        return [*_template_slots((ins[1].args, ins[1].kwargs)), *_output_slots(ins[2])]
    if kind == fusion.FUSED:
        return ins[1].slots()
    return list(ins[1:3])


def _output_slots(outs: Any) -> list[int]:
    if outs.__class__ is int:
        return [outs]
    return [] if outs is None else [s for o in outs for s in _output_slots(o)]


def _template_slots(t: Any) -> list[Any]:
    """The sources a template (or a container of templates) reads."""
    if t.__class__ is _Tmpl:
        if t.kind is _TENSOR or t.kind is _ARRAY:
            return [t.payload]
        return _template_slots([v for _, v in t.payload] if t.kind is dict else t.payload)
    if isinstance(t, (tuple, list)):
        return [s for v in t for s in _template_slots(v)]
    return []


def _arr(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


def _equal(a: Any, b: Any) -> bool:
    return (a.shape == b.shape and a.dtype == b.dtype
            and bool(xp.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))


def _same(a: Any, b: Any) -> bool:
    """Whether two Python values recorded by the two traces are the same."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
