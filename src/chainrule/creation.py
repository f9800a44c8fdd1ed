"""Creating tensors: constants, ranges and random tensors (from the global generator unless a
``generator`` is given), and their ``_like`` forms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainrule import backend
from chainrule.autograd.function import clear_constants
from chainrule.autograd.tape import replayed
from chainrule.backend import xp
from chainrule.device import check as check_device
from chainrule.random import Generator, numpy_generator
from chainrule.tensor import Tensor


def _shape(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if int(s) < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
    return tuple(int(s) for s in size)


def get_default_dtype() -> Any:
    """The dtype of floating tensors made without one (float32 unless changed).

    Example:
        >>> import chainrule as cr
        >>> cr.get_default_dtype() == cr.float32
        True
    """
    return backend.default_float()


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32, float64 or float16) the dtype of floating tensors and layer
    parameters made without one, as ``torch.set_default_dtype`` does (e.g. float64 for
    gradient checks of a whole model).

    Example:
        >>> import chainrule as cr
        >>> cr.set_default_dtype(cr.float64)
        >>> cr.tensor([1.5]).dtype
        dtype('float64')
        >>> cr.set_default_dtype(cr.float32)
    """
    backend.set_default_float(d)
    clear_constants()


def _make(arr: Any, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(arr)
    return t.requires_grad_() if requires_grad else t


def _float(dtype: Any) -> Any:
    return backend.float_or_default(dtype)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 by default).

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(2, dtype=cr.int64)
        tensor([0, 0])
    """
    check_device(device, "zeros")
    return _make(xp.zeros(_shape(size), _float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 by default).

    Example:
        >>> import chainrule as cr
        >>> cr.ones(2, 3)
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """
    check_device(device, "ones")
    return _make(xp.ones(_shape(size), _float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor.

    Example:
        >>> import chainrule as cr
        >>> cr.empty(2, 3).shape
        chainrule.Size([2, 3])
    """
    check_device(device, "empty")
    return _make(xp.empty(_shape(size), _float(dtype)), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype inferred from it like ``tensor``).

    Example:
        >>> import chainrule as cr
        >>> cr.full((2, 2), 7.0)
        tensor([[7., 7.],
                [7., 7.]])
    """
    check_device(device, "full")
    if dtype is None:
        dtype = (backend.bool_ if isinstance(fill_value, bool) else
                 backend.int64 if isinstance(fill_value, int) else backend.default_float())
    return _make(xp.full(_shape((size,)), fill_value, xp.dtype(dtype)), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 if all are ints.

    Example:
        >>> import chainrule as cr
        >>> cr.arange(5)
        tensor([0, 1, 2, 3, 4])
        >>> cr.arange(0.0, 1.0, 0.25)
        tensor([0.0000, 0.2500, 0.5000, 0.7500])
    """
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero, got start={start}, end={end}, "
                           f"step={step}")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.default_float()
    return _make(xp.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    Example:
        >>> import chainrule as cr
        >>> cr.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    check_device(device, "linspace")
    return _make(xp.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row × col matrix, the
    diagonal shifted by ``offset``, in row-major order (int64 unless told).

    Example:
        >>> import chainrule as cr
        >>> cr.tril_indices(3, 3)
        tensor([[0, 1, 1, 2, 2, 2],
                [0, 0, 1, 0, 1, 2]])
    """
    check_device(device, "tril_indices")
    rows, cols = xp.tril_indices(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(dtype or xp.int64))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None,
                 device: Any = None) -> Tensor:
    """The (2, N) indices of the upper triangle (see ``tril_indices``).

    Example:
        >>> import chainrule as cr
        >>> cr.triu_indices(3, 3, 1)
        tensor([[0, 0, 1],
                [1, 2, 2]])
    """
    check_device(device, "triu_indices")
    rows, cols = xp.triu_indices(row, offset, col)
    return Tensor._wrap(xp.stack([rows, cols]).astype(dtype or xp.int64))


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n × m).

    Example:
        >>> import chainrule as cr
        >>> cr.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    check_device(device, "eye")
    return _make(xp.eye(n, m, dtype=_float(dtype)), requires_grad)


@replayed
def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1).

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> x = cr.rand(1000)
        >>> bool(x.min() >= 0), bool(x.max() < 1)
        (True, True)
    """
    check_device(device, "rand")
    arr = numpy_generator(generator).random(_shape(size), dtype=backend.float64)
    return _make(arr.astype(_float(dtype)), requires_grad)


@replayed
def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> x = cr.randn(10000)
        >>> round(x.mean().item(), 1), round(x.std().item(), 1)
        (0.0, 1.0)
    """
    check_device(device, "randn")
    arr = numpy_generator(generator).standard_normal(_shape(size))
    return _make(arr.astype(_float(dtype)), requires_grad)


@replayed
def randint(low: int, high: int | None = None, size: Sequence[int] = (), *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    """Integers uniform in [low, high) (int64); ``randint(high, size)`` as in PyTorch.

    Example:
        >>> import chainrule as cr
        >>> _ = cr.manual_seed(0)
        >>> x = cr.randint(0, 3, (100,))
        >>> x.dtype, sorted(set(x.tolist()))
        (dtype('int64'), [0, 1, 2])
    """
    check_device(device, "randint")
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    arr = numpy_generator(generator).integers(low, high, tuple(size))
    return Tensor._wrap(xp.asarray(arr, dtype or backend.int64))


@replayed
def randperm(n: int, *, generator: Generator | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n−1.

    Example:
        >>> import chainrule as cr
        >>> sorted(cr.randperm(5).tolist())
        [0, 1, 2, 3, 4]
    """
    check_device(device, "randperm")
    return Tensor._wrap(numpy_generator(generator).permutation(n).astype(backend.int64))


@replayed
def normal(mean: Any = 0.0, std: Any = 1.0, size: Sequence[int] | None = None, *,
           generator: Generator | None = None, dtype: Any = None, device: Any = None) -> Tensor:
    """Normal samples with the given mean and standard deviation (scalars or tensors).

    Example:
        >>> import chainrule as cr
        >>> cr.normal(0.0, 1.0, size=(2, 3)).shape
        chainrule.Size([2, 3])
    """
    check_device(device, "normal")
    m = getattr(mean, "array", mean)
    s = getattr(std, "array", std)
    shape = tuple(size) if size is not None else xp.broadcast_shapes(xp.shape(m), xp.shape(s))
    arr = numpy_generator(generator).normal(m, s, shape)
    return Tensor._wrap(arr.astype(_float(dtype)))


def from_numpy(array: Any) -> Tensor:
    """A tensor sharing memory with a NumPy array (keeps its dtype).

    Example:
        >>> import chainrule as cr
        >>> import numpy as np
        >>> a = np.array([1.0, 2.0])
        >>> t = cr.from_numpy(a)
        >>> a[0] = 9.0
        >>> t
        tensor([9., 2.], dtype=float64)
    """
    if not isinstance(array, xp.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory when it is already an array of the right dtype.

    Example:
        >>> import chainrule as cr
        >>> cr.as_tensor([1, 2, 3], dtype=cr.float32)
        tensor([1., 2., 3.])
    """
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, xp.ndarray) and (dtype is None or data.dtype == dtype):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)


def _like(fn: Any, doc: str) -> Any:
    def like(input: Tensor, dtype: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
        return fn(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad, **kw)

    like.__name__ = like.__qualname__ = fn.__name__ + "_like"
    like.__doc__ = doc
    return like


zeros_like = _like(zeros, """Zeros with the shape and dtype of ``input``.

Example:
    >>> import chainrule as cr
    >>> cr.zeros_like(cr.ones(2, 2))
    tensor([[0., 0.],
            [0., 0.]])
""")
ones_like = _like(ones, """Ones with the shape and dtype of ``input``.

Example:
    >>> import chainrule as cr
    >>> cr.ones_like(cr.zeros(2, dtype=cr.int64))
    tensor([1, 1])
""")
empty_like = _like(empty, """Uninitialised, with the shape and dtype of ``input``.

Example:
    >>> import chainrule as cr
    >>> cr.empty_like(cr.ones(2, 3, dtype=cr.int64)).shape
    chainrule.Size([2, 3])
""")
rand_like = _like(rand, """Uniform [0, 1) samples shaped like ``input``.

Example:
    >>> import chainrule as cr
    >>> cr.rand_like(cr.zeros(2, 3)).shape
    chainrule.Size([2, 3])
""")
randn_like = _like(randn, """Standard normal samples shaped like ``input``.

Example:
    >>> import chainrule as cr
    >>> cr.randn_like(cr.zeros(2, 3)).shape
    chainrule.Size([2, 3])
""")


def full_like(input: Tensor, fill_value: Any, dtype: Any = None,
              device: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape and dtype of ``input``.

    Example:
        >>> import chainrule as cr
        >>> cr.full_like(cr.zeros(3), 0.5)
        tensor([0.5000, 0.5000, 0.5000])
    """
    check_device(device, "full_like")
    return full(input.shape, fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


def randint_like(input: Tensor, low: int, high: int | None = None, *,
                 generator: Generator | None = None, device: Any = None) -> Tensor:
    """Integers in [low, high) shaped like ``input``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.randint_like(cr.zeros(5), 10)
        >>> x.shape, bool(((x >= 0) & (x < 10)).all())
        (chainrule.Size([5]), True)
    """
    check_device(device, "randint_like")
    return randint(low, high, input.shape, generator=generator, dtype=input.dtype)


@replayed
def bernoulli(input: Tensor, p: float | None = None, *,
              generator: Generator | None = None) -> Tensor:
    """0/1 samples, each 1 with probability ``input`` (or ``p``), in the input's dtype.

    Example:
        >>> import chainrule as cr
        >>> cr.bernoulli(cr.tensor([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    probs = input.array if p is None else xp.full(input.shape, p)
    if ((probs < 0) | (probs > 1)).any():
        raise RuntimeError("bernoulli: probabilities must be in [0, 1]")
    draw = numpy_generator(generator).random(input.shape)
    return Tensor._wrap((draw < probs).astype(input.dtype))


@replayed
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Category indices drawn from each row of non-negative weights ``input`` (1-D: one
    distribution, 2-D: one per row), with or without replacement (int64).

    Example:
        >>> import chainrule as cr
        >>> cr.multinomial(cr.tensor([0.0, 0.0, 1.0]), 2, replacement=True).tolist()
        [2, 2]
    """
    w = xp.asarray(input.array, xp.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                           f"{tuple(input.shape)}")
    rows = w.reshape(-1, w.shape[-1])
    if (rows < 0).any() or not xp.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > "
                           f"prob_dist.size(-1) ({rows.shape[-1]}) samples without replacement")
    if not replacement and num_samples > int((rows > 0).sum(-1).min()):
        raise RuntimeError("multinomial: invalid multinomial distribution (with "
                           "replacement=False, not enough non-zero categories to sample)")
    rng = numpy_generator(generator)
    out = xp.stack([rng.choice(rows.shape[-1], num_samples, replace=replacement, p=r / r.sum())
                    for r in rows])
    return Tensor._wrap(out.reshape(*w.shape[:-1], num_samples).astype(backend.int64))


def _new(fn: Any, doc: str) -> Any:
    def new(self: Tensor, *size: Any, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
        return fn(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    new.__name__ = "new_" + fn.__name__
    new.__doc__ = doc
    return new


new_zeros = _new(zeros, "Zeros of ``size`` with this tensor's dtype (unless ``dtype``).")
new_ones = _new(ones, "Ones of ``size`` with this tensor's dtype (unless ``dtype``).")
new_empty = _new(empty, "Uninitialised, of ``size``, with this tensor's dtype.")


def new_full(self: Tensor, size: Sequence[int], fill_value: Any, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, of ``size``, with this tensor's dtype (unless ``dtype``)."""
    return full(size, fill_value, dtype=dtype or self.dtype, device=device,
                requires_grad=requires_grad)


def new_tensor(self: Tensor, data: Any, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` as a tensor with this tensor's dtype (unless ``dtype``).

    Example:
        >>> import chainrule as cr
        >>> cr.zeros(1, dtype=cr.float64).new_tensor([1, 2]).dtype
        dtype('float64')
    """
    check_device(device, "new_tensor")
    arr = xp.array(data.array if isinstance(data, Tensor) else data, dtype=dtype or self.dtype)
    return _make(arr, requires_grad)
