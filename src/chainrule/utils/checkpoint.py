"""``checkpoint``: activation recomputation (``torch.utils.checkpoint``). A checkpointed segment
keeps only its inputs and outputs; its activations are recomputed during backward, trading
compute for memory."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from chainrule.autograd import forward_ad
from chainrule.autograd.engine import grad as autograd_grad
from chainrule.autograd.forward_ad import tangent_of
from chainrule.autograd.grad_mode import _mode, enable_grad, is_grad_enabled
from chainrule.autograd.pack import Pack, pack, split, unpack
from chainrule.backend import xp
from chainrule.random import get_rng_state, set_rng_state
from chainrule.tensor import Tensor

__all__ = ["checkpoint"]


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, determinism_check: str = "default",
               debug: bool = False, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its activations; backward runs it
    again to get them.

    Gradients equal those of calling ``function`` directly. The random state is saved before
    the forward and restored for the recomputation (``preserve_rng_state``), so dropout masks
    match. The outputs may be a tensor or a tuple/list of them (and other values).

    Args:
        function: the segment, e.g. a block of a model.
        *args: its positional inputs.
        use_reentrant: required, as in PyTorch (omitting it warns and means ``True``).
            ``False`` (recommended) also accepts keyword arguments and gives gradients to the
            parameters the segment uses when no input requires grad; ``True`` gives gradients
            only when an input requires grad.
        preserve_rng_state: restore the random state for the recomputation.
        determinism_check: ``"default"`` checks that the recomputed outputs have the shapes
            and dtypes of the first run; ``"none"`` skips the check.
        debug: accepted for compatibility.
        **kwargs: keyword inputs (``use_reentrant=False`` only).

    Raises:
        ValueError: keyword arguments with ``use_reentrant=True``.
        RuntimeError: when the recomputation gives outputs of other shapes or dtypes.

    Tensors the segment reads other than its arguments should be leaves (parameters and
    buffers); their gradients are computed as for the arguments.

    Example:
        >>> import chainrule as cr
        >>> lin = cr.nn.Linear(3, 3)
        >>> x = cr.randn(2, 3, requires_grad=True)
        >>> y = cr.utils.checkpoint.checkpoint(lin, x, use_reentrant=False)
        >>> y.sum().backward(); lin.weight.grad.shape
        chainrule.Size([3, 3])
    """
    if use_reentrant is None:
        warnings.warn(
            "chainrule.utils.checkpoint: the use_reentrant parameter should be passed "
            "explicitly. Starting in PyTorch 2.9, calling checkpoint without use_reentrant "
            "will raise an exception. use_reentrant=False is recommended, but if you need to "
            "preserve the current default behavior, you can pass use_reentrant=True. Refer to "
            "docs for more details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    if use_reentrant and kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if not is_grad_enabled() and not forward_ad.levels:
        return function(*args, **kwargs)
    inputs = [a for a in args if isinstance(a, Tensor) and (a.requires_grad or a._tangents)]
    if use_reentrant and not inputs:
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)
    rng = get_rng_state() if preserve_rng_state else None
    outputs = function(*args, **kwargs)
    tensors = _differentiable(outputs)
    if not tensors or (use_reentrant and not inputs):
        return _detached(outputs) if use_reentrant and not inputs else outputs
    leaves = _leaves(tensors, stop={id(a) for a in inputs})
    tangents = {level: [tangent_of(t, level) for t in tensors] for level in forward_ad.levels}
    node = _Segment.apply(  # the segment as one node; its activations are freed here
        *inputs, *leaves, packed=pack(tensors).array, function=function, args=args,
        kwargs=kwargs, rng=rng, check=determinism_check == "default",
        meta=[(t.shape, t.dtype) for t in tensors], inputs_n=len(inputs), tangents=tangents)
    return _replace(outputs, dict(zip(map(id, tensors), unpack(node, tensors))))


class _Segment(Pack):
    """A checkpointed segment: its inputs are the segment's differentiable arguments and the
    leaves it reads; its output, the segment's outputs packed (computed already). ∂/∂inputs:
    recompute the segment with gradients recorded and differentiate it. Tangent: the
    outputs' tangents packed, which the first run computed (forward mode keeps no
    activations)."""

    name = "checkpoint"
    function: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    rng: Any
    check: bool
    meta: list[Any]
    inputs_n: int
    tangents: dict[int, list[Tensor | None]]

    def backward(self, g: Tensor) -> tuple[Tensor | None, ...]:
        create = _mode.enabled
        saved = get_rng_state()
        if self.rng is not None:
            set_rng_state(self.rng)
        try:
            with enable_grad():
                detached = {id(a): _fresh_leaf(a) for a in self.inputs[:self.inputs_n]}
                args = [detached.get(id(a), a) if isinstance(a, Tensor) else a
                        for a in self.args]
                tensors = _differentiable(self.function(*args, **self.kwargs))
                meta = [(t.shape, t.dtype) for t in tensors]
                if self.check and meta != self.meta:
                    raise RuntimeError(
                        "checkpoint: recomputed values have different metadata than during "
                        f"the forward pass: {self.meta} then {meta}. Pass "
                        "determinism_check='none' to skip this check.")
                targets = list(detached.values()) + list(self.inputs[self.inputs_n:])
                grads = autograd_grad(tensors, targets, split(g, tensors),
                                      create_graph=create, allow_unused=True)
        finally:
            set_rng_state(saved)
        return tuple(grads)

    def jvp(self, *tangents: Tensor | None) -> Tensor | None:
        outs = self.tangents.get(self._fw_level)
        if outs is None or all(t is None for t in outs):
            return None
        return pack([Tensor._wrap(xp.zeros(shape, dtype)) if t is None else t
                     for t, (shape, dtype) in zip(outs, self.meta)])


def _fresh_leaf(t: Tensor) -> Tensor:
    """``t``'s value as a new leaf requiring grad, with ``t``'s forward-mode tangents (so
    forward-over-reverse differentiates the recomputation)."""
    leaf = t.detach().requires_grad_()
    leaf._tangents = dict(t._tangents) if t._tangents else None
    return leaf


def _differentiable(outputs: Any) -> list[Tensor]:
    """The tensor outputs (at the top level) that carry a derivative: recorded for backward
    or carrying forward-mode tangents."""
    items = outputs if isinstance(outputs, tuple | list) else (outputs,)
    return [t for t in items if isinstance(t, Tensor) and (t.requires_grad or t._tangents)]


def _replace(outputs: Any, new: dict[int, Tensor]) -> Any:
    if isinstance(outputs, Tensor):
        return new.get(id(outputs), outputs)
    if isinstance(outputs, tuple | list):
        items = [new.get(id(o), o) if isinstance(o, Tensor) else o for o in outputs]
        return type(outputs)(items) if not hasattr(outputs, "_fields") else type(outputs)(*items)
    return outputs


def _detached(outputs: Any) -> Any:
    tensors = _differentiable(outputs)
    return _replace(outputs, {id(t): t.detach() for t in tensors})


def _leaves(tensors: list[Tensor], stop: set[int]) -> list[Tensor]:
    """The leaves requiring grad that ``tensors`` were computed from, not looking past the
    tensors in ``stop`` (the segment's arguments)."""
    found: dict[int, Tensor] = {}
    seen: set[int] = set()
    todo = [t.grad_fn for t in tensors if t.grad_fn is not None and id(t) not in stop]
    while todo:
        op = todo.pop()
        if id(op) in seen or op.inputs is None:
            continue
        seen.add(id(op))
        for t, fn in zip(op.inputs, op.fns):
            if id(t) in stop or not t.requires_grad:
                continue
            if fn is None:
                found.setdefault(id(t), t)
            else:
                todo.append(fn)
    return list(found.values())
