"""Module backward hooks (``register_full_backward_hook`` and
``register_full_backward_pre_hook``): the tensor inputs and outputs of one call are packed
into one node each, so a hook sees all their gradients together, as PyTorch's do."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from chainrule.autograd.pack import pack, split, unpack
from chainrule.backend import xp
from chainrule.tensor import Tensor


class BackwardHookCall:
    """The hooks of one module call: wraps its inputs before ``forward`` and its outputs after,
    then runs the hooks when backward reaches them.

    Pre-hooks ``hook(module, grad_output)`` run when the gradients of the outputs are known
    and may return replacements; full hooks ``hook(module, grad_input, grad_output)`` run
    when those of the inputs are (or with the outputs' when no input requires grad) and may
    return replacement input gradients. ``grad_input`` has one entry per positional argument
    (``None`` where it is not a tensor requiring grad); ``grad_output`` one per tensor output
    (``None`` for one that does not require grad, zeros for one the loss did not use).
    """

    def __init__(self, module: Any, pre_hooks: list[Callable[..., Any]],
                 hooks: list[Callable[..., Any]]) -> None:
        self.module, self.pre_hooks, self.hooks = module, pre_hooks, hooks
        self.n_args = 0
        self.wrapped: list[int] = []
        self.inputs: list[Tensor] = []
        self.grad_outputs: tuple[Any, ...] = ()

    def wrap_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_args = len(args)
        self.wrapped = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not self.wrapped or not self.hooks:
            return args
        self.inputs = [args[i] for i in self.wrapped]
        flat = pack(self.inputs)
        flat.register_hook(self._on_input_grads)
        new = list(args)
        for i, t in zip(self.wrapped, unpack(flat, self.inputs)):
            new[i] = t
        return tuple(new)

    def wrap_outputs(self, out: Any) -> Any:
        items = list(out) if isinstance(out, tuple | list) else [out]
        slots = [i for i, o in enumerate(items) if isinstance(o, Tensor)]
        where = [k for k, i in enumerate(slots) if items[i].requires_grad]
        if not where:
            return out
        outputs = [items[slots[k]] for k in where]
        flat = pack(outputs)
        flat.register_hook(lambda g: self._on_output_grads(g, outputs, where, len(slots)))
        where = [slots[k] for k in where]
        for i, t in zip(where, unpack(flat, outputs)):
            items[i] = t
        if isinstance(out, Tensor):
            return items[0]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)

    def _on_output_grads(self, g: Tensor, outputs: list[Tensor], where: list[int],
                         n_outputs: int) -> Tensor | None:
        slots: list[Any] = [None] * n_outputs
        for k, piece in zip(where, split(g, outputs)):
            slots[k] = piece
        grads = tuple(slots)
        changed = False
        for hook in self.pre_hooks:
            new = hook(self.module, grads)
            if new is not None:
                grads = _checked(new, len(grads), "Backward pre hook", "grad_output")
                changed = True
        self.grad_outputs = grads
        if self.hooks and not self.wrapped:
            warnings.warn(
                "Full backward hook is firing when gradients are computed with respect to "
                "module outputs since no inputs require gradients. See https://docs.pytorch."
                "org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.register_full_"
                "backward_hook for more details.", stacklevel=2)
            for hook in self.hooks:
                hook(self.module, (None,) * self.n_args, grads)
        return _repack([grads[k] for k in where], outputs) if changed else None

    def _on_input_grads(self, g: Tensor) -> Tensor | None:
        grads: list[Any] = [None] * self.n_args
        for i, piece in zip(self.wrapped, split(g, self.inputs)):
            grads[i] = piece
        changed = False
        for hook in self.hooks:
            new = hook(self.module, tuple(grads), self.grad_outputs)
            if new is not None:
                grads = list(_checked(new, self.n_args, "Backward hook", "grad_input"))
                changed = True
        return _repack([grads[i] for i in self.wrapped], self.inputs) if changed else None


def _checked(new: Any, n: int, who: str, what: str) -> tuple[Any, ...]:
    new = new if isinstance(new, tuple | list) else (new,)
    if len(new) != n:
        raise RuntimeError(f"{who} returned an invalid number of {what}, got {len(new)}, but "
                           f"expected {n}")
    return tuple(new)


def _repack(grads: list[Any] | tuple[Any, ...], like: list[Tensor]) -> Tensor:
    """The gradient of a packed node from per-tensor gradients (``None``: zeros)."""
    return Tensor._wrap(xp.concatenate([
        xp.zeros(t.numel(), t.dtype) if g is None else
        xp.asarray(g.array if isinstance(g, Tensor) else g, dtype=t.dtype).reshape(-1)
        for g, t in zip(grads, like)]).astype(xp.result_type(*[t.dtype for t in like])))
