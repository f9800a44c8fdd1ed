"""Tracing a model into a flat list of primitive ops, for ``chainrule.onnx.export`` and
``SummaryWriter.add_graph``.

The model runs once on example inputs (in eval mode, without gradients) while the recording that
``chainrule.compile`` uses (``autograd.tape``) is on, so every primitive op applied is kept with
its inputs, output and parameters; forward hooks note which module applied it. Python control
flow is therefore frozen at the example's values, as with ``torch.jit.trace``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chainrule.autograd.grad_mode import no_grad
from chainrule.autograd.tape import ASSIGN, OP, CompileError, tape
from chainrule.tensor import Tensor


@dataclass
class TracedOp:
    """One applied primitive: the op node (its ``name`` and ``params``), its input tensors, its
    output tensor and the dotted name of the innermost module that applied it."""

    op: Any
    inputs: tuple[Tensor, ...]
    output: Tensor
    scope: str


@dataclass
class Trace:
    """The ops of one forward pass, with the example inputs and the outputs (flattened)."""

    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    ops: list[TracedOp] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    """Dotted names of the model's parameters and buffers, by ``id`` of the tensor."""


def flatten_outputs(out: Any, where: str) -> tuple[Tensor, ...]:
    """A model's output (a tensor, or nested tuples/lists of them) as a flat tuple of tensors."""
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, list | tuple):
        return tuple(t for o in out for t in flatten_outputs(o, where))
    raise TypeError(f"{where}: the model returned a {type(out).__name__}; only tensors and "
                    "(nested) tuples or lists of tensors can be traced")


_ENTER, _EXIT = "enter", "exit"


def trace(model: Any, args: tuple[Any, ...], where: str) -> Trace:
    """Run ``model(*args)`` in eval mode without gradients and record its ops.

    Raises:
        RuntimeError: the forward writes into a tensor in place, or reads a tensor's value in
            Python (``item()``, ``numpy()``, ``if t:``), which the trace would freeze.
    """
    inputs = tuple(a for a in args if isinstance(a, Tensor))
    modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
    names: dict[int, str] = {}
    if hasattr(model, "named_parameters"):
        names.update({id(p): n for n, p in model.named_parameters()})
        names.update({id(b): n for n, b in model.named_buffers()})
    entries: list[Any] = []
    handles = []
    for name, m in modules:  # markers in the recording: which module applies the ops between
        handles.append(m.register_forward_pre_hook(
            lambda mod, a, name=name: entries.append((_ENTER, name)) and None))
        handles.append(m.register_forward_hook(
            lambda mod, a, o: entries.append((_EXIT,)) and None))
    modes = [(m, m.training) for _, m in modules]
    for m, _ in modes:
        m.training = False
    tape.entries = entries
    try:
        with no_grad():
            result = model(*args)
    except CompileError as e:  # the recording refuses value reads: say it for this caller
        what = str(e).split(" on a tensor")[0].removeprefix("compile: the step calls ")
        raise RuntimeError(f"{where}: the forward calls {what} on a tensor; a trace would "
                           "freeze that value, so it cannot be exported") from None
    finally:
        tape.entries, tape.modules = None, {}
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    ops: list[TracedOp] = []
    scopes: list[str] = []
    for entry in entries:
        kind = entry[0]
        if kind == _ENTER:
            scopes.append(entry[1])
        elif kind == _EXIT:
            scopes.pop()
        elif kind == ASSIGN:
            raise RuntimeError(f"{where}: the forward writes into a tensor of shape "
                               f"{tuple(entry[1].shape)} in place; use the out-of-place op")
        elif kind == OP:
            _, op, ins, out = entry
            ops.append(TracedOp(op, tuple(ins), out, scopes[-1] if scopes else ""))
    return Trace(inputs, flatten_outputs(result, where), ops, names)
