"""``Module``, the base of every layer, and ``Parameter``, a tensor a module trains.

Parameters, buffers and submodules are registered by attribute assignment, in order; names in
``state_dict`` follow PyTorch's dotted scheme (``0.weight``, ``layer1.bias``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from chainrule.autograd.grad_mode import _mode, no_grad
from chainrule.autograd.tape import replayed, tape
from chainrule.backend import bfloat16, default_float, is_floating, xp
from chainrule.device import check as check_device
from chainrule.device import to_dtype
from chainrule.tensor import Tensor
from chainrule.utils.hooks import BackwardHookCall


class Parameter(Tensor):
    """A tensor that a ``Module`` registers as trainable (``requires_grad=True`` by default).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.Parameter(cr.zeros(2))
        Parameter containing:
        tensor([0., 0.], requires_grad=True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = xp.empty((0,), default_float())
        super().__init__(data.array if isinstance(data, Tensor) else data)
        self.requires_grad_(requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class _ModuleHookHandle:
    """Returned by ``register_forward_hook`` and friends: ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: OrderedDict[int, Any]) -> None:
        self.hooks = hooks
        self.id = _ModuleHookHandle._next_id
        _ModuleHookHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> _ModuleHookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Module:
    """Base class for layers and models: holds parameters, buffers and submodules.

    Subclasses call ``super().__init__()`` first, then assign attributes; ``forward`` defines
    the computation and ``module(x)`` calls it.

    Example:
        >>> import chainrule as cr
        >>> class TwoLayer(cr.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = cr.nn.Linear(2, 3)
        ...         self.out = cr.nn.Linear(3, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).tanh())
        >>> model = TwoLayer()
        >>> [name for name, _ in model.named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
        >>> model(cr.ones(4, 2)).shape
        chainrule.Size([4, 1])
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing 'forward'")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if tape.entries is not None:  # a compiled step replays only while these modes hold
            tape.modules[id(self)] = (self, self.training)
        hooks = self.__dict__.get("_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        for hook in list(hooks["pre"].values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        backward = None
        if (hooks.get("backward") or hooks.get("backward_pre")) and _mode.enabled:
            backward = BackwardHookCall(self, list(hooks.get("backward_pre", {}).values()),
                                        list(hooks.get("backward", {}).values()))
            args = backward.wrap_inputs(args)
        out = self.forward(*args, **kwargs)
        for hook in list(hooks["post"].values()):
            new = hook(self, args, out)
            if new is not None:
                out = new
        return out if backward is None else backward.wrap_outputs(out)

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> _ModuleHookHandle:
        """Call ``hook(module, args)`` before every ``forward``; a returned value (a tuple, or
        a single input) replaces the positional inputs. Returns a handle with ``remove()``."""
        return self._add_hook("pre", hook)

    def register_forward_hook(self, hook: Callable[..., Any]) -> _ModuleHookHandle:
        """Call ``hook(module, args, output)`` after every ``forward`` (e.g. to record
        activations); a returned value replaces the output. Returns a handle with
        ``remove()``."""
        return self._add_hook("post", hook)

    def register_full_backward_hook(self, hook: Callable[..., Any]) -> _ModuleHookHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        this module's positional inputs are computed; a returned tuple replaces
        ``grad_input``. Returns a handle with ``remove()``. See ``chainrule.utils.hooks``."""
        return self._add_hook("backward", hook)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any]) -> _ModuleHookHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to this
        module's outputs are computed, before they flow into it; a returned tuple replaces
        ``grad_output``. Returns a handle with ``remove()``."""
        return self._add_hook("backward_pre", hook)

    def _add_hook(self, kind: str, hook: Callable[..., Any]) -> _ModuleHookHandle:
        hooks = self.__dict__.setdefault("_hooks", {"pre": OrderedDict(), "post": OrderedDict()})
        hooks.setdefault(kind, OrderedDict())
        handle = _ModuleHookHandle(hooks[kind])
        hooks[kind][handle.id] = hook
        return handle

    # ---- registration -------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign '{name}' before {type(self).__name__}.__init__() called "
                "super().__init__()"
            )
        for store in ("_parameters", "_buffers", "_modules"):
            self.__dict__[store].pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()) and (
            value is None or isinstance(value, Tensor)
        ):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[store]:
                del self.__dict__[store][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a declared-but-absent parameter such as a bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' as parameter '{name}' "
                            "(chainrule.nn.Parameter or None expected)")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not trained (e.g. BatchNorm's running mean)."""
        names = self.__dict__.setdefault("_buffer_names", set())
        names.add(name)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass (got {module!r} "
                            f"for submodule {name!r})")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ----------------------------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None,
                      prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named(self, store: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        mods = self.named_modules() if recurse else iter([("", self)])
        for prefix, m in mods:
            for name, t in m.__dict__[store].items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{prefix}.{name}" if prefix else name), t

    def named_parameters(self, prefix: str = "",
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, shared parameters listed once."""
        for name, p in self._named("_parameters", recurse):
            yield (f"{prefix}.{name}" if prefix else name), p  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "",
                      recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        for name, b in self._named("_buffers", recurse):
            yield (f"{prefix}.{name}" if prefix else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and helpers --------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the parameters' gradients."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array[...] = 0

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast floating parameters and buffers to a dtype: ``to(dtype)``, ``to(tensor)`` (its
        dtype) or ``to(device, dtype)``; a device other than the CPU is refused."""
        dtype = to_dtype(args, kwargs, f"{type(self).__name__}.to", Tensor)
        if dtype is None:
            return self
        dtype = xp.dtype(dtype)
        for t in [*self.parameters(), *self.buffers()]:
            if is_floating(t.dtype):
                t.array = t.array.astype(dtype)
                if t.grad is not None:
                    t.grad.array = t.grad.array.astype(dtype)
        return self

    def cuda(self, device: Any = None) -> Module:
        """Refused with a clear error: chainrule computes on the CPU."""
        check_device("cuda", f"{type(self).__name__}.cuda")
        return self

    def float(self) -> Module:
        return self.to(xp.float32)

    def double(self) -> Module:
        return self.to(xp.float64)

    def half(self) -> Module:
        return self.to(xp.float16)

    def bfloat16(self) -> Module:
        """Cast floating parameters and buffers to bfloat16 (needs the ``ml_dtypes`` package)."""
        return self.to(bfloat16())

    def cpu(self) -> Module:
        return self

    # ---- state --------------------------------------------------------------------------------
    def state_dict(self, destination: dict[str, Tensor] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached unless ``keep_vars``)."""
        out: dict[str, Tensor] = OrderedDict() if destination is None else destination
        for mprefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            lead = f"{mprefix}." if mprefix else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[lead + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[lead + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Raises:
            RuntimeError: listing missing/unexpected keys (``strict``) and shape mismatches
                with both shapes.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            value = state_dict[k]
            arr = value.array if isinstance(value, Tensor) else xp.asarray(value)
            if tuple(arr.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {k}: copying a param with shape "
                              f"{tuple(arr.shape)} from checkpoint, the shape in current model "
                              f"is {tuple(target.shape)}.")
        if strict and (missing or unexpected):
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    value = state_dict[k]
                    arr = value.array if isinstance(value, Tensor) else xp.asarray(value)
                    xp.copyto(target.array, arr.astype(target.dtype, copy=False))
                    target._version += 1
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr line."""
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = type(self).__name__ + "("
        if not self._modules:
            return head + extra + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))
