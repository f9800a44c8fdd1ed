"""``functional_call``: run a module with some parameters and buffers replaced by given
tensors, so a loss can be written as a function of a dict of parameters (and then given to
``grad``, ``jacrev`` or ``hessian``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chainrule.tensor import Tensor


def functional_call(module: Any, parameters_and_buffers: Mapping[str, Tensor] | tuple[Any, ...],
                    args: Any = (), kwargs: Mapping[str, Any] | None = None, *,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with the named parameters/buffers replaced for this call only
    (``torch.func.functional_call``); the module is restored afterwards, even on error.

    Args:
        module: an ``nn.Module``.
        parameters_and_buffers: ``{dotted name: tensor}`` (a tuple of dicts is merged).
        args: positional inputs (a single non-tuple value is one argument).
        kwargs: keyword inputs.
        strict: require every parameter and buffer of the module to be given.

    Example:
        >>> import chainrule as cr
        >>> net = cr.nn.Linear(2, 1)
        >>> params = {k: v.detach() for k, v in net.named_parameters()}
        >>> loss = lambda p, x: cr.func.functional_call(net, p, (x,)).sum()
        >>> sorted(cr.func.grad(loss)(params, cr.ones(4, 2)))
        ['bias', 'weight']
    """
    if isinstance(parameters_and_buffers, tuple):
        merged: dict[str, Tensor] = {}
        for d in parameters_and_buffers:
            merged.update(d)
        parameters_and_buffers = merged
    if not isinstance(args, tuple):
        args = (args,)
    known = dict(module.named_parameters())
    known.update(dict(module.named_buffers()))
    for name in parameters_and_buffers:
        if name not in known:
            raise ValueError(f"functional_call: {type(module).__name__} has no parameter or "
                             f"buffer named {name!r}")
    if strict:
        missing = sorted(set(known) - set(parameters_and_buffers))
        if missing:
            raise ValueError(f"functional_call: missing key(s) {missing} (strict=True)")
    saved = []
    try:
        for name, value in parameters_and_buffers.items():
            owner, leaf = _owner(module, name)
            store = owner._parameters if leaf in owner._parameters else owner._buffers
            saved.append((store, leaf, store[leaf]))
            store[leaf] = value
        return module(*args, **(kwargs or {}))
    finally:
        for store, leaf, old in reversed(saved):
            store[leaf] = old


def _owner(module: Any, name: str) -> tuple[Any, str]:
    *path, leaf = name.split(".")
    for part in path:
        module = module._modules[part]
    return module, leaf
