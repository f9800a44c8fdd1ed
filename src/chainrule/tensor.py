"""The Tensor: an array, the gradient it receives, and the op that produced it.

The class holds the array, the autograd state (``requires_grad``, ``grad``, ``grad_fn``, version
counter, hooks), conversions and shape queries. Its maths methods (``x.exp()``, ``x.sum(0)``),
operators and in-place operations are the ops of the op table (``ops/table.py``), which binds
them when ``chainrule`` is imported: this module imports no op.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from chainrule import backend
from chainrule.autograd.grad_mode import _mode
from chainrule.autograd.tape import ASSIGN, refuse_read, tape
from chainrule.backend import Array, xp
from chainrule.device import CPU, device, to_dtype
from chainrule.device import check as check_device
from chainrule.size import Size

Scalar = int | float | bool


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Its values are the NumPy array ``.array``.

    Args:
        data: array-like contents (copied).
        dtype: optional dtype; Python floats default to float32, ints to int64.
        requires_grad: record operations on this tensor so ``backward`` can fill ``.grad``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> x.shape, x.dtype
        (chainrule.Size([2, 2]), dtype('float32'))
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([[2., 4.],
                [6., 8.]])
    """

    __slots__ = ("array", "grad", "requires_grad", "grad_fn", "_version", "_hooks", "_tangents",
                 "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``array * tensor`` to Tensor.__rmul__

    array: Array
    grad: Tensor | None
    requires_grad: bool

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.array = as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._version = 0
        self._hooks = None
        self._tangents = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: Array, requires_grad: bool = False, grad_fn: Any = None) -> Tensor:
        """A tensor over ``data`` without copying or checking (the ops' fast path)."""
        t = _new(Tensor)
        t.array = data
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._version = 0
        t._hooks = None
        t._tangents = None
        return t

    @property
    def data(self) -> Tensor:
        """A tensor over the same storage, outside autograd (PyTorch's ``.data``).

        Writes through it (``p.data.add_(g, alpha=-lr)``) change this tensor without being
        recorded; assigning ``p.data = other`` makes this tensor use ``other``'s storage. The
        backing NumPy array itself is ``.array`` (``.numpy()`` for a detached tensor).
        """
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: assigned data has to be a Tensor, but got "
                            f"{type(value).__name__}")
        self.array = value.array

    # ---- metadata -------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        """The sizes of the dimensions, a ``chainrule.Size``."""
        # NOTE: read by layers and ops on every call, so it hands out cached ``Size`` objects
        # built without the checks of ``Size(...)``.
        shape = self.array.shape
        size = _SIZES.get(shape)
        if size is None:
            if len(_SIZES) > 4096:
                _SIZES.clear()
            size = _SIZES[shape] = _new_size(Size, shape)
        return size

    def size(self, dim: int | None = None) -> Any:
        """The shape as a ``chainrule.Size``, or the size of dimension ``dim``."""
        if dim is None:
            return self.shape
        try:
            return self.array.shape[dim]
        except (IndexError, TypeError):
            n = self.array.ndim
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-n}, {n - 1}], but got {dim})") from None

    @property
    def is_cuda(self) -> bool:
        """False: chainrule tensors live on the CPU."""
        return False

    @property
    def is_cpu(self) -> bool:
        """True: chainrule tensors live on the CPU."""
        return True

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> Any:
        return self.array.dtype

    @property
    def device(self) -> device:
        return CPU

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records gradients."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def dim(self) -> int:
        return self.array.ndim

    def numel(self) -> int:
        return int(self.array.size)

    def nelement(self) -> int:
        """The number of elements (``numel``)."""
        return self.numel()

    def element_size(self) -> int:
        return int(self.dtype.itemsize)

    def is_floating_point(self) -> bool:
        return backend.is_floating(self.dtype)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def _physical(self) -> Array:
        """The backing array, for the library's own reads of the physical layout (a memory
        layout check, the bounds of every sample's indices): a tensor batched inside ``vmap``
        (which refuses ``.array``) gives the whole batch's, batch dims first."""
        return self.array

    # ---- conversion -----------------------------------------------------------------------
    def numpy(self) -> Array:
        """The underlying array (shared, not copied)."""
        refuse_read("numpy()")
        if self.requires_grad and _mode.enabled:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        return self.array

    def item(self) -> Scalar:
        refuse_read("item()")
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return self.array.item()

    def tolist(self) -> Any:
        refuse_read("tolist()")
        return self.array.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Array:
        return self.array if dtype is None else self.array.astype(dtype)

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its Python number (``f"{loss:.4f}"``); any other tensor takes
        only the empty format spec (``TypeError`` otherwise), as in PyTorch."""
        if self.array.ndim == 0 and type(self) is Tensor:
            return self.array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __float__(self) -> float:
        refuse_read("float()")
        return float(self.item())

    def __int__(self) -> int:
        refuse_read("int()")
        return int(self.item())

    def __bool__(self) -> bool:
        refuse_read("bool()")
        if self.array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.array.size} elements is ambiguous"
            )
        return bool(self.array.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.array.item())

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Cast to a dtype (differentiable between floating dtypes): ``to(dtype)``,
        ``to(other)`` (its dtype) or ``to(device, dtype)``; devices other than the CPU are
        refused."""
        dtype = to_dtype(args, kwargs, "Tensor.to", Tensor)
        if dtype is None:
            return self
        return self.cast(xp.dtype(dtype))

    def type(self, dtype: Any) -> Tensor:
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self) -> Tensor:
        return self.to(backend.float32)

    def double(self) -> Tensor:
        return self.to(backend.float64)

    def half(self) -> Tensor:
        return self.to(backend.float16)

    def long(self) -> Tensor:
        return self.to(backend.int64)

    def int(self) -> Tensor:
        return self.to(backend.int32)

    def bool(self) -> Tensor:
        return self.to(backend.bool_)

    def byte(self) -> Tensor:
        """This tensor as uint8."""
        return self.to(backend.uint8)

    def char(self) -> Tensor:
        """This tensor as int8."""
        return self.to(backend.int8)

    def short(self) -> Tensor:
        """This tensor as int16."""
        return self.to(backend.int16)

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None) -> Tensor:
        """Refused with a clear error: chainrule computes on the CPU."""
        check_device("cuda", "Tensor.cuda")
        return self

    # ---- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether operations on this (leaf) tensor are recorded; returns self."""
        if requires_grad and not backend.is_floating(self.dtype):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {self.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory, as in PyTorch)."""
        return Tensor._wrap(self.array)

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self.requires_grad = False
        return self

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Any:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.hooks is None:
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is not None:
            self.grad_fn.retained = weakref.ref(self)

    # ---- in-place ---------------------------------------------------------------------------
    def _inplace(self, fn: Callable[[Tensor], Tensor]) -> Tensor:
        """Replace this tensor's values by ``fn(self)`` and bump its version counter.

        Recorded in the graph when grad mode is on and gradients are involved: the tensor then
        takes the result's history, and ``fn`` sees an alias of the old state. Forbidden on a
        leaf that requires grad (outside ``no_grad``), as in PyTorch.
        """
        if _mode.enabled and self.requires_grad:
            if self.grad_fn is None:
                raise RuntimeError(
                    "a leaf Variable that requires grad is being used in an in-place operation."
                )
            old = Tensor._wrap(self.array, True, self.grad_fn)
            old._version = self._version
            old._tangents = self._tangents
            out = fn(old)
            _check_fits(self, out)
            tape.writer = self  # takes the recorded result's array: allowed while tracing
            self.array, self.grad_fn = out.array.astype(self.dtype, copy=False), out.grad_fn
            tape.writer = None
        else:
            out = fn(self)
            _check_fits(self, out)
            if _mode.enabled and out.requires_grad:
                tape.writer = self
                self.array, self.grad_fn = out.array.astype(self.dtype, copy=False), out.grad_fn
                tape.writer = None
                self.requires_grad = True
            else:
                xp.copyto(self.array, xp.broadcast_to(out.array, self.array.shape),
                          casting="unsafe")
                if tape.entries is not None:
                    tape.entries.append((ASSIGN, self, out))
        if out._tangents or self._tangents:  # forward mode: the new value's tangents
            self._tangents = out._tangents
        self._version += 1
        return self

    def _fill(self, value: Array) -> Tensor:
        return self._inplace(lambda _: Tensor._wrap(value))

    # ---- maths, operators, indexing, in-place operations: bound from ``ops/table.py`` ---------
    __hash__ = object.__hash__  # by identity, as in PyTorch (``==`` is elementwise)

    def __repr__(self) -> str:
        d = self.array
        finite = d[xp.isfinite(d)] if backend.is_floating(d.dtype) else d
        whole = not backend.is_floating(d.dtype) or bool((finite == xp.round(finite)).all())
        body = xp.array2string(d, separator=", ", precision=4, prefix="tensor(",
                               threshold=1000, edgeitems=3,  # PyTorch: 4 fixed decimals
                               floatmode="maxprec_equal" if whole else "fixed")
        extras = []
        if self.array.dtype not in (backend.float32, backend.int64, backend.bool_):
            extras.append(f"dtype={self.array.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


_new = object.__new__
_new_size = tuple.__new__
_SIZES: dict[tuple[int, ...], Size] = {}
"""``Size`` objects by shape: immutable, so shared (a lookup is cheaper than a new one)."""


def _check_fits(tensor: Tensor, value: Tensor) -> None:
    """An in-place result must fit the tensor it is written into (under ``vmap``, a value that
    differs per sample cannot go into a tensor shared by all samples)."""
    if value._physical().ndim > tensor._physical().ndim:
        raise RuntimeError(
            f"in-place: a result with array shape {tuple(value._physical().shape)} cannot be "
            f"written into a tensor of shape {tuple(tensor._physical().shape)}; under vmap "
            "(jacfwd, jacrev), a tensor written with a per-sample value in place must itself "
            "come from a batched input (build it with cat or where instead)"
        )


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:
        self.hooks, self.hook = hooks, hook

    def remove(self) -> None:
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


def as_array(data: Any, dtype: Any = None) -> Array:
    """``data`` as a new array with PyTorch's default dtypes (float32 for Python floats, int64
    for ints); NumPy arrays keep their dtype unless ``dtype`` is given."""
    if isinstance(data, Tensor):
        data = data.array
    if isinstance(data, xp.ndarray) or hasattr(data, "dtype"):
        arr = xp.array(data, dtype=dtype)
    else:
        try:
            arr = xp.array(data if not _has_tensors(data) else _untensor(data))
        except ValueError:
            raise ValueError(f"tensor: {_ragged(data)}") from None
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        elif arr.dtype == backend.float64:
            arr = arr.astype(backend.default_float(), copy=False)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(backend.int64, copy=False)
        elif arr.dtype.kind not in "fbc":
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} "
                            f"(NumPy dtype {arr.dtype})")
    return arr


def _ragged(data: Any, dim: int = 0) -> str:
    """Where nested lists stop being rectangular, in PyTorch's words."""
    if isinstance(data, (list, tuple)) and data:
        lengths = [len(d) if isinstance(d, (list, tuple)) else None for d in data]
        first = lengths[0]
        for got in lengths[1:]:
            if got != first:
                return (f"expected sequence of length {first} at dim {dim + 1} (got {got})"
                        if first is not None and got is not None
                        else f"expected a sequence or a number at every position of dim {dim + 1}")
        for d in data:
            reason = _ragged(d, dim + 1)
            if reason:
                return reason
    return ""


def _has_tensors(data: Any) -> bool:
    return isinstance(data, (list, tuple)) and any(
        isinstance(d, Tensor) or _has_tensors(d) for d in data
    )


def _untensor(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.array
    if isinstance(data, (list, tuple)):
        return [_untensor(d) for d in data]
    return data


def tensor(data: Any, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data``.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    check_device(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)

