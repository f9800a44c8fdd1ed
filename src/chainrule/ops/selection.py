"""Picking elements by mask or index, NumPy- and PyTorch-style: masked_select, take,
take_along_dim, select, ravel and ``Tensor.unfold``'s sliding windows, composed from indexing,
``gather`` and ``reshape`` (gradients come with them)."""

from __future__ import annotations

from chainrule.backend import xp
from chainrule.ops.movement import gather
from chainrule.ops.shape import normalize_dims
from chainrule.tensor import Tensor


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast against it) is true, as a 1-D tensor.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[1.0, -2.0], [3.0, -4.0]])
        >>> cr.masked_select(x, x > 0)
        tensor([1., 3.])
    """
    shape = xp.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    return input.expand(*shape)[mask.expand(*shape)]


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at ``index`` (any shape; the result has the index's shape).

    Example:
        >>> import chainrule as cr
        >>> cr.take(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), cr.tensor([0, 3]))
        tensor([1., 4.])
    """
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"take: index must be an integer tensor, got {index.dtype}")
    return input.reshape(-1)[index]


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` along ``dim`` with the other dims of ``input`` and ``indices`` broadcast
    (NumPy's ``take_along_axis``); with no ``dim``, both are read as 1-D.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
        >>> cr.take_along_dim(x, x.argmax(1, keepdim=True), 1)
        tensor([[30.],
                [60.]])
    """
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim: indices must be an integer tensor, got "
                           f"{indices.dtype}")
    if dim is None:
        return input.reshape(-1)[indices.reshape(-1)]
    if input.ndim != indices.ndim:
        raise RuntimeError(f"take_along_dim: input and indices should have the same number of "
                           f"dimensions, got shapes {tuple(input.shape)} and "
                           f"{tuple(indices.shape)}")
    d = normalize_dims(dim, input.ndim, "take_along_dim")[0]
    a, b = list(input.shape), list(indices.shape)
    a[d] = b[d] = 1
    common = list(xp.broadcast_shapes(tuple(a), tuple(b)))
    common_in, common_idx = common.copy(), common.copy()
    common_in[d], common_idx[d] = input.shape[d], indices.shape[d]
    return gather(input.expand(*common_in), d, indices.expand(*common_idx))


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dim removed (``input[..., index, ...]``).

    Example:
        >>> import chainrule as cr
        >>> cr.select(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, 0)
        tensor([1., 3.])
    """
    if input.ndim == 0:
        raise IndexError("select: cannot be applied to a 0-dim tensor")
    d = normalize_dims(dim, input.ndim, "select")[0]
    if not -input.shape[d] <= index < input.shape[d]:
        raise IndexError(f"select: index {index} out of range for dim {dim} of size "
                         f"{input.shape[d]}")
    return input[(slice(None),) * d + (index,)]


def ravel(input: Tensor) -> Tensor:
    """``input`` as one flat dim (``reshape(-1)``).

    Example:
        >>> import chainrule as cr
        >>> cr.ravel(cr.ones(2, 2))
        tensor([1., 1., 1., 1.])
    """
    return input.reshape(-1)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every window of ``size`` elements along ``dimension``, ``step`` apart: that dim becomes
    the window count and a last dim of ``size`` is added (``Tensor.unfold``).

    Example:
        >>> import chainrule as cr
        >>> cr.arange(6.0).unfold(0, 3, 2)
        tensor([[0., 1., 2.],
                [2., 3., 4.]])
    """
    d = normalize_dims(dimension, input.ndim, "unfold")[0]  # (0 for a 0-d input)
    n = input.shape[d] if input.ndim else 1
    if size > n or size < 0 or step <= 0:
        raise RuntimeError(f"unfold: size {size} and step {step} do not fit dimension "
                           f"{dimension} of size {n} (need 0 ≤ size ≤ {n}, step > 0)")
    if input.ndim == 0:
        return input.reshape(1)
    count = (n - size) // step + 1
    index = Tensor._wrap(xp.arange(count)[:, None] * step + xp.arange(size)[None, :])
    windows = input.movedim(d, -1)[..., index]  # (..., count, size)
    return windows.movedim(-2, d)
