"""Backpropagation: walk the graph from the outputs in reverse topological order, summing each
node's gradient over every path before passing it on (the multivariate chain rule).

The order is computed iteratively (Kahn's algorithm over consumer counts), so graphs of any
depth work without recursion. Each node's saved values are released once it has run unless
``retain_graph`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chainrule import kernels
from chainrule.autograd import anomaly, post_accumulate, tangents
from chainrule.autograd.grad_mode import _mode
from chainrule.autograd.tape import GRAD, CompileError, backward_of, tape
from chainrule.backend import Array, xp
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.autograd.function import Op

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


def backward(
    tensors: Sequence[Tensor],
    grad_tensors: Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Sequence[Tensor] | None = None,
) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    Args:
        tensors: outputs to differentiate.
        grad_tensors: d(loss)/d(output) for each output; may be omitted for scalars.
        retain_graph: keep saved values for another backward (default: ``create_graph``).
        create_graph: record the backward pass itself, for higher-order derivatives.
        inputs: if given, only these tensors accumulate gradients (non-leaves included).
    """
    if inputs is not None and any(t.grad_fn is not None for t in inputs):
        got = grad(tensors, inputs, grad_tensors, retain_graph, create_graph, allow_unused=True)
        for t, g in zip(inputs, got):
            if g is not None:
                g = g.clone() if create_graph else g.detach().clone()
                t.grad = g if t.grad is None else t.grad + g
        return
    roots = _roots(tensors, grad_tensors, create_graph)
    only = None if inputs is None else {id(t) for t in inputs}
    _run(roots, retain_graph if retain_graph is not None else create_graph, create_graph,
         capture=None, only=only)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than
    accumulated into ``.grad``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor(3.0, requires_grad=True)
        >>> cr.autograd.grad(x ** 2, x)
        (tensor(6.),)
    """
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    ins = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _roots(outs, grad_outputs, create_graph)
    capture: dict[int, Tensor | None] = {id(t): None for t in ins}
    _run(roots, retain_graph if retain_graph is not None else create_graph, create_graph,
         capture=capture, only=None, nonleaf={t.grad_fn: t for t in ins if t.grad_fn})
    result = tuple(capture[id(t)] for t in ins)
    if not allow_unused:
        for i, g in enumerate(result):
            if g is None:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been "
                    "used in the graph. Set allow_unused=True if this is the desired behavior."
                )
    return result


def _roots(
    tensors: Sequence[Tensor], grads: Sequence[Tensor | None] | None, create_graph: bool
) -> list[tuple[Tensor, Tensor]]:
    if grads is None:
        grads = [None] * len(tensors)
    if len(grads) != len(tensors):
        raise RuntimeError(f"backward: got {len(tensors)} tensors but {len(grads)} gradients")
    roots = []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        if not t.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got shape "
                    f"{t.shape}); pass gradient= with the output's shape"
                )
            g = Tensor._wrap(xp.ones_like(t.array))
        elif not isinstance(g, Tensor):
            g = Tensor(g, dtype=t.dtype)
        if g.shape != t.shape:  # (logical shapes: a cotangent may be batched under vmap)
            raise RuntimeError(
                f"backward: gradient shape {g.shape} does not match output shape {t.shape}"
            )
        if not create_graph and g.requires_grad:  # (a batched g keeps its value's tangents)
            tangents = g._tangents
            g = g.detach()
            g._tangents = tangents  # forward-mode tangents still flow (forward-over-reverse)
        roots.append((t, g))
    return roots


def _run(
    roots: list[tuple[Tensor, Tensor]],
    retain_graph: bool,
    create_graph: bool,
    capture: dict[int, Tensor | None] | None,
    only: set[int] | None,
    nonleaf: dict[Op, Tensor] | None = None,
) -> None:
    if create_graph and tape.entries is not None:
        raise CompileError("compile: create_graph=True (gradients of gradients) is not "
                           "supported in a compiled step")
    # Count, for every node reachable from the roots, how many inputs of other nodes it feeds.
    pending: dict[Op, int] = {}
    # Leaves with post-accumulate hooks (only when filling .grad): paths still to arrive.
    leaves: dict[int, int] | None = (
        {} if post_accumulate.HOOKS and capture is None else None)
    stack = [t.grad_fn for t, _ in roots if t.grad_fn is not None]
    for op in stack:
        pending.setdefault(op, 0)
    while stack:
        op = stack.pop()
        if op.inputs is None:
            raise RuntimeError(_FREED)
        for f, need in zip(op.fns, op.needs_input_grad):
            if need and f is not None:
                if f in pending:
                    pending[f] += 1
                else:
                    pending[f] = 1
                    stack.append(f)
        if leaves is not None:
            for t, f, need in zip(op.inputs, op.fns, op.needs_input_grad):
                if need and f is None and id(t) in post_accumulate.HOOKS and (
                        only is None or id(t) in only):
                    leaves[id(t)] = leaves.get(id(t), 0) + 1

    grads: dict[Op, Tensor] = {}
    # nodes whose gradient so far is an array this loop made (a sum), which no one else holds
    # and later paths may add into in place
    summed: set[Op] = set()
    owned: set[int] = set()  # ids of gradient arrays a leaf has taken without copying
    for t, g in roots:
        if t.grad_fn is None:
            _accumulate(t, g, capture, only, create_graph, owned=None)
            if leaves is not None and id(t) in post_accumulate.HOOKS:
                leaves[id(t)] = leaves.get(id(t), 0) + 1
                post_accumulate.fire(leaves, t)
        else:
            grads[t.grad_fn] = grads[t.grad_fn] + g if t.grad_fn in grads else g
    ready = [op for op, n in pending.items() if n == 0]

    prev_mode = _mode.enabled
    _mode.enabled = create_graph
    try:
        while ready:
            op = ready.pop()
            g = grads.pop(op, None)
            summed.discard(op)
            inputs = op.inputs
            if g is not None:
                if op.hooks:
                    for hook in op.hooks:
                        new = hook(g)  # not ``or``: a tensor's truth value is ambiguous
                        g = g if new is None else new
                if op.retained is not None:
                    kept = op.retained()
                    if kept is not None:  # (summed over backward calls, as PyTorch's)
                        g_kept = g if create_graph else g.detach()
                        kept.grad = g_kept if kept.grad is None else kept.grad + g_kept
                if nonleaf is not None and op in nonleaf:
                    key = id(nonleaf[op])
                    capture[key] = g if capture[key] is None else capture[key] + g  # type: ignore
                if op.saves_inputs:  # (inline: a call per node costs more than the loop)
                    for t, v in zip(inputs, op.versions):
                        if t._version != v:
                            raise _modified(op, t, v)
                if tape.entries is not None:
                    in_grads = backward_of(op, g)
                elif not create_graph and _added_at_slice(op, g, grads, summed):
                    in_grads = (None,)  # (its input's pending count still drops below)
                else:
                    in_grads = (op.backward(g) if not anomaly.enabled
                                else anomaly.checked_backward(op, g))
            else:
                in_grads = (None,) * len(inputs)
            for t, f, gi, need in zip(inputs, op.fns, in_grads, op.needs_input_grad):
                if not need:
                    continue
                if gi is not None:
                    # NOTE: plain tensors compare their arrays' metadata (the cheap reads); a
                    # batched tensor (vmap) or a subclass answers for one sample itself
                    if type(gi) is Tensor and type(t) is Tensor:
                        gm, tm = gi.array, t.array  # (no tuple is built for this)
                    else:
                        gm, tm = gi, t
                    if gm.shape != tm.shape:
                        gi = unbroadcast(gi, tm.shape, op)
                    if gm.dtype != tm.dtype:
                        gi = gi.to(tm.dtype)
                    if f is None:
                        _accumulate(t, gi, capture, only, create_graph,
                                    owned if gi is not g else None)
                    elif f in summed and type(gi) is Tensor:
                        grads[f].array += gi.array  # (a sum only this loop holds)
                    elif f in grads:
                        grads[f] = total = grads[f] + gi
                        if type(total) is Tensor and _may_add_into(total, create_graph):
                            summed.add(f)
                    else:
                        grads[f] = gi
                if f is None:
                    if leaves and id(t) in leaves:
                        post_accumulate.fire(leaves, t)
                else:
                    n = pending[f] - 1
                    pending[f] = n
                    if n == 0:
                        ready.append(f)
            if not retain_graph:
                op.inputs = op.fns = None
                op.out = None
    finally:
        _mode.enabled = prev_mode


def _may_add_into(total: Tensor, create_graph: bool) -> bool:
    """Whether later gradients may be added into ``total`` (a plain tensor the engine just
    summed) in place: nothing records the sum (``create_graph``, a compiled step's trace), no
    forward-mode tangent rides on it, and its array is its own."""
    return not (create_graph or tangents.levels) and tape.entries is None \
        and total.array.flags.owndata


def _added_at_slice(op: Op, g: Tensor, grads: dict[Op, Tensor], summed: set[Op]) -> bool:
    """For an op that reads a slice of a non-leaf input (``Op.slice_of_input``): add ``g`` at
    that slice into the input's gradient sum, in place where the sum is this loop's own, and
    return True; False (nothing done) where the op's own backward must run.

    NOTE: ``q, k, v = x.split(d, -1)`` otherwise builds three zero-filled arrays of x's size and
    adds them (in a GPT block, 7.6 ms of a 105 ms step); here x's gradient is one array.
    """
    index = op.slice_of_input()
    if index is None or anomaly.enabled or tangents.levels or type(g) is not Tensor:
        return False
    (t,), (f,) = op.inputs, op.fns
    if f is None or not op.needs_input_grad[0] or type(t) is not Tensor \
            or g.array.dtype != t.array.dtype:
        return False
    if f in summed:
        _into(grads[f].array, index, g.array, True)
        return True
    if f in grads:
        total = grads[f].array.copy()
        _into(total, index, g.array, True)
    else:
        total = _placed(t.array.shape, index, g.array)
    grads[f] = Tensor._wrap(total)
    summed.add(f)
    return True


def _into(total: Array, index: Any, g: Array, add: bool) -> None:
    """total[index] += g (``add``) or total[index] = g; a large float slice of rows through
    the kernels, on MKL's threads."""
    if g.size >= _SHARED and kernels.fits_in_place(total, g):
        view = total[index]
        if view.shape == g.shape and kernels.arithmetic.into(view, g, add):
            return
    if add:
        total[index] += g
    else:
        total[index] = g


def _placed(shape: tuple[int, ...], index: Any, g: Array) -> Array:
    """An array of ``shape`` holding g at ``index`` and 0 elsewhere; a large float slice of
    rows written, and the rest zeroed, in one pass on MKL's threads."""
    if g.size >= _SHARED and kernels.fits_in_place(g):
        total = xp.empty(shape, g.dtype)
        view = total[index]
        if view.shape == g.shape and kernels.arithmetic.into(view, g, False, total):
            return total
    total = xp.zeros(shape, g.dtype)
    total[index] = g
    return total


_SHARED = 1 << 16
"""Elements from which a slice's gradient may be added on MKL's threads."""


def _modified(op: Op, t: Tensor, v: int) -> RuntimeError:
    """The error for an input that an in-place op changed after ``op`` saved it."""
    i = next(i for i, x in enumerate(op.inputs) if x is t)
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: input {i} of {op.name} (shape {tuple(t.shape)}) is at "
        f"version {t._version}; expected version {v} instead."
    )


def _accumulate(
    leaf: Tensor,
    g: Tensor,
    capture: dict[int, Tensor | None] | None,
    only: set[int] | None,
    create_graph: bool,
    owned: set[int] | None,
) -> None:
    """Add ``g`` into ``leaf.grad`` (or into ``capture`` for ``autograd.grad``).

    A fresh gradient array (computed by the op, contiguous, not yet given to another leaf;
    ``owned`` is None for arrays passed through unchanged) is taken without a copy, since the
    optimizer and later accumulations write into ``.grad`` in place.
    """
    if leaf._hooks:
        for hook in leaf._hooks:
            new = hook(g)
            g = g if new is None else new
    if capture is not None:
        key = id(leaf)
        if key in capture:
            capture[key] = g if capture[key] is None else capture[key] + g
        return
    if only is not None and id(leaf) not in only:
        return
    if tape.entries is not None:
        tape.writer = leaf
        try:
            store(leaf, g, create_graph, owned)
        finally:
            tape.writer = None
        tape.entries.append((GRAD, leaf, g, owned is not None, leaf.grad))
        return
    store(leaf, g, create_graph, owned)


def store(leaf: Tensor, g: Tensor, create_graph: bool, owned: set[int] | None) -> None:
    """Add ``g`` into ``leaf.grad``, taking a fresh array (see ``_accumulate``) without a copy."""
    if leaf.grad is None:
        if create_graph:  # a copy (in the graph): g may be shared, read-only or broadcast
            leaf.grad = g.clone()
            return
        arr = g.array
        if (owned is None or id(arr) in owned or not arr.flags.owndata
                or not arr.flags.writeable or not arr.flags.c_contiguous):
            arr = arr.copy()
        if owned is not None:
            owned.add(id(arr))
        leaf.grad = type(g)._wrap(arr)
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + g
    else:
        xp.add(leaf.grad.array, g.array, out=leaf.grad.array, casting="unsafe")


def unbroadcast(g: Tensor, shape: tuple[int, ...], op: object = None) -> Tensor:
    """Sum ``g`` over the axes that broadcasting added or stretched, giving ``shape``."""
    lead = g.ndim - len(shape)
    if lead < 0:
        raise RuntimeError(f"{op}: gradient of shape {g.shape} cannot reduce to {shape}")
    if lead:
        g = g.sum(tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(stretched, keepdim=True)
    return g
