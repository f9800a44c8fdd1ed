"""Hooks that run once a leaf's gradient for the current backward pass is complete
(``Tensor.register_post_accumulate_grad_hook``, as in PyTorch).

The engine accumulates a leaf's gradient path by path, so a leaf used twice (tied weights) is
written twice. For leaves with such hooks the engine counts the paths that reach them before it
starts, and calls the hooks after the last one has been added into ``.grad``. Data-parallel
training uses this to start averaging a gradient while the rest of the backward pass runs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chainrule.tensor import Tensor

# id(leaf) -> its hooks; an entry goes when its tensor is collected. Keyed by id, not by a
# weak reference: comparing two weak references compares the tensors, elementwise.
HOOKS: dict[int, list[Callable[[Tensor], None]]] = {}


class PostAccumulateHandle:
    """Returned by ``register_post_accumulate_grad_hook``; ``remove()`` unregisters it."""

    def __init__(self, tensor: Tensor, hook: Callable[[Tensor], None]) -> None:
        self.tensor, self.hook = weakref.ref(tensor), hook

    def remove(self) -> None:
        t = self.tensor()
        hooks = HOOKS.get(id(t)) if t is not None else None
        if hooks and self.hook in hooks:
            hooks.remove(self.hook)


def register(tensor: Tensor, hook: Callable[[Tensor], None]) -> PostAccumulateHandle:
    """Call ``hook(tensor)`` after each backward pass has finished accumulating into the leaf
    ``tensor``'s ``.grad``."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    if key not in HOOKS:
        HOOKS[key] = []
        weakref.finalize(tensor, HOOKS.pop, key, None)
    HOOKS[key].append(hook)
    return PostAccumulateHandle(tensor, hook)


def fire(pending: dict[int, int], leaf: Tensor) -> None:
    """One path into ``leaf`` is done; after its last, run the leaf's hooks."""
    key = id(leaf)
    n = pending[key] - 1
    pending[key] = n
    if n == 0:
        for hook in list(HOOKS.get(key, ())):
            hook(leaf)
