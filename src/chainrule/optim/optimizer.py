"""``Optimizer``: parameter groups, lazy per-parameter state and PyTorch-style state dicts.

Subclasses implement ``_update(p, g, state, group)``, the update of one parameter from its
gradient array, computed in place on ``p.array`` (NumPy ``out=``) so a step allocates nothing
beyond a shared scratch buffer.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from chainrule.autograd.grad_mode import enable_grad
from chainrule.autograd.tape import replayed
from chainrule.backend import Array, is_floating, xp
from chainrule.tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


def check(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok`` (hyper-parameter validation)."""
    if not ok:
        raise ValueError(message)


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    Args:
        params: an iterable of tensors, or of dicts (parameter groups) each with a ``"params"``
            entry and optional per-group hyper-parameters overriding ``defaults``.
        defaults: the default hyper-parameters of every group.

    Example:
        >>> import chainrule as cr
        >>> model = cr.nn.Linear(2, 1)
        >>> opt = cr.optim.SGD([{"params": [model.weight]}, {"params": [model.bias],
        ...     "lr": 0.0}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.0]
        >>> isinstance(opt, cr.optim.Optimizer), sorted(opt.state_dict())
        (True, ['param_groups', 'state'])
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch_buf: dict[Any, Array] = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. a new head to train)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group = {**self.defaults, **param_group, "params": params}
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    @replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None``, or to zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    @replayed
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if given.

        Args:
            closure: re-evaluates the model and returns the loss (called with grad enabled).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.array
                if group.get("maximize", False):
                    g = xp.negative(g, out=self._scratch(p.array, 2))
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p, group))
                self._update(p.array, g, state, group)
                p._version += 1
        return loss

    # ---- to implement --------------------------------------------------------------------------
    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first update."""
        return {}

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update the array ``p`` in place from its gradient ``g`` (never modify ``g``)."""
        raise NotImplementedError

    # ---- helpers ------------------------------------------------------------------------------
    def _scratch(self, p: Any, k: int = 0) -> Array:
        """Temporary array shaped like ``p``, shared by all parameters.

        Slots: 0 free for updates, 1 weight decay, 2 maximize, 3+ free.
        """
        key = (p.dtype, k)
        buf = self._scratch_buf.get(key)
        if buf is None or buf.size < p.size:
            buf = self._scratch_buf[key] = xp.empty(p.size, p.dtype)
        return buf[: p.size].reshape(p.shape)

    def _with_decay(self, p: Array, g: Array, weight_decay: float) -> Array:
        """``g + weight_decay·p`` (L2 penalty) in a scratch buffer, or ``g`` itself."""
        if not weight_decay:
            return g
        out = self._scratch(p, 1)
        xp.multiply(p, weight_decay, out=out)
        out += g
        return out

    # ---- state dict ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered in group order, as in PyTorch; state arrays are copied into
        tensors so the dict is a snapshot.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = ids
            groups.append(packed)
        state = {
            index[id(p)]: {k: Tensor._wrap(v.copy()) if isinstance(v, xp.ndarray) else v
                           for k, v in s.items()}
            for p, s in self.state.items() if s
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by ``state_dict`` (values are copied)."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, s in zip(self.param_groups, saved):
            if len(g["params"]) != len(s["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        by_id = {}
        for g, s in zip(self.param_groups, saved):
            by_id.update({int(i): p for i, p in zip(s["params"], g["params"])})
        self.state = defaultdict(dict)
        for key, s in state_dict["state"].items():
            p = by_id.get(int(key))
            if p is None:
                continue
            self.state[p] = {k: _as_state(v, p) for k, v in s.items()}
        for g, s in zip(self.param_groups, saved):
            g.update({k: copy.deepcopy(v) for k, v in s.items() if k != "params"})
            if isinstance(g.get("betas"), list):
                g["betas"] = tuple(g["betas"])


def _as_state(value: Any, p: Tensor) -> Any:
    """A saved state entry as this optimizer keeps it: arrays in the parameter's dtype."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, xp.ndarray):
        if value.ndim == 0 and value.dtype.kind in "iu":
            return int(value)
        dtype = p.dtype if is_floating(value.dtype) else value.dtype
        return xp.array(value, dtype=dtype, copy=True)
    return copy.deepcopy(value)
