"""Index and count queries: ``nonzero``/``argwhere``, ``unique``/``unique_consecutive``,
``bincount``,
``searchsorted``/``bucketize``.

Their results are integer positions or counts, so they carry no gradient (as in PyTorch); the
one floating result, the values of ``unique``, is a constant too (PyTorch has no backward for
it either). Integer results are int64.
"""

from __future__ import annotations

from typing import Any

from chainrule.backend import Array, xp
from chainrule.tensor import Tensor


def _wrap(a: Any, dtype: Any = xp.int64) -> Tensor:
    return Tensor._wrap(xp.asarray(a).astype(dtype, copy=False))


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, one row per element in
    row-major order, or with ``as_tuple=True`` one 1-D tensor per dim (usable as an index).

    Example:
        >>> import chainrule as cr
        >>> cr.nonzero(cr.tensor([[0, 1], [2, 0]])).tolist()
        [[0, 1], [1, 0]]
    """
    a = input.array
    if as_tuple:
        return tuple(_wrap(i) for i in xp.nonzero(xp.atleast_1d(a)))
    return _wrap(xp.argwhere(a))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct elements of the flattened ``input``, in ascending order (also when
    ``sorted=False``, which PyTorch allows to be either). With ``return_inverse`` also the
    int64 index of each input element in the output (shaped like ``input``), with
    ``return_counts`` the int64 count of each output element.

    Example:
        >>> import chainrule as cr
        >>> out, counts = cr.unique(cr.tensor([3, 1, 3]), return_counts=True)
        >>> out.tolist(), counts.tolist()
        ([1, 3], [1, 2])
    """
    if dim is not None:
        raise NotImplementedError(f"unique: only dim=None (the flattened input) is supported, "
                                  f"got dim={dim}")
    values, inverse, counts = xp.unique(input.array, return_inverse=True, return_counts=True)
    out: list[Tensor] = [_wrap(values, input.dtype)]
    if return_inverse:
        out.append(_wrap(inverse.reshape(input.shape)))
    if return_counts:
        out.append(_wrap(counts))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, …, max(input) occurs in the 1-D non-negative integer
    ``input`` (at least ``minlength`` bins); with ``weights``, the sum of the weights of each
    value instead. int64 without weights; with weights their dtype if floating, else float64.

    Example:
        >>> import chainrule as cr
        >>> cr.bincount(cr.tensor([0, 2, 2])).tolist()
        [1, 0, 2]
    """
    a = input.array
    if input.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError(f"bincount: expected a 1-D integer tensor, got {input.dtype} of "
                           f"shape {tuple(input.shape)}")
    if a.size and a.min() < 0:
        raise RuntimeError(f"bincount: input must be non-negative, got minimum {a.min()}")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be >= 0, got {minlength}")
    if weights is None:
        return _wrap(xp.bincount(a, minlength=minlength))
    w = weights.array if isinstance(weights, Tensor) else xp.asarray(weights)
    if w.shape != a.shape:
        raise RuntimeError(f"bincount: weights of shape {tuple(w.shape)} do not match input "
                           f"of shape {tuple(a.shape)}")
    dtype = w.dtype if w.dtype.kind == "f" else xp.float64
    return _wrap(xp.bincount(a, weights=w, minlength=minlength), dtype)


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None,
                 sorter: Tensor | None = None) -> Tensor:
    """For each value of ``input``, the index at which inserting it keeps ``sorted_sequence``
    (sorted along its last dim) sorted: the first such index, or the last with ``right=True``
    (``side='right'``). A 1-D ``sorted_sequence`` serves every value; otherwise its leading
    dims must equal those of ``input`` and each row serves the matching row of values.

    Example:
        >>> import chainrule as cr
        >>> cr.searchsorted(cr.tensor([1, 3, 5]), cr.tensor([3, 6])).tolist()
        [1, 3]
    """
    seq = sorted_sequence.array
    vals = input.array if isinstance(input, Tensor) else xp.asarray(input)
    if side is not None:
        if side not in ("left", "right") or (right and side == "left"):
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right' and agree with "
                               f"right={right}, got side={side!r}")
        right = side == "right"
    if seq.ndim == 0:
        raise RuntimeError("searchsorted: sorted_sequence must have at least 1 dim, got a "
                           "0-D tensor")
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter.array, -1)
    how = "right" if right else "left"
    dtype = xp.int32 if out_int32 else xp.int64
    if seq.ndim == 1:
        return _wrap(xp.searchsorted(seq, vals, side=how), dtype)
    if vals.ndim != seq.ndim or vals.shape[:-1] != seq.shape[:-1]:
        raise RuntimeError(f"searchsorted: leading dims of sorted_sequence "
                           f"{tuple(seq.shape)} and input {tuple(vals.shape)} must match")
    rows_s = seq.reshape(-1, seq.shape[-1])
    rows_v = vals.reshape(-1, vals.shape[-1])
    out: Array = xp.empty(rows_v.shape, xp.int64)
    for i in range(rows_s.shape[0]):
        out[i] = xp.searchsorted(rows_s[i], rows_v[i], side=how)
    return _wrap(out.reshape(vals.shape), dtype)


def argwhere(input: Tensor) -> Tensor:
    """The (n, ndim) int64 indices of the non-zero elements (``nonzero(input)``).

    Example:
        >>> import chainrule as cr
        >>> cr.argwhere(cr.tensor([[0, 1], [2, 0]])).tolist()
        [[0, 1], [1, 0]]
    """
    return _wrap(xp.argwhere(input.array))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """For each value, the index of its bucket among the sorted 1-D ``boundaries``: the first
    i with value ≤ boundaries[i] (value < boundaries[i] with ``right=True``).

    Example:
        >>> import chainrule as cr
        >>> cr.bucketize(cr.tensor([1, 5, 9]), cr.tensor([1, 3, 5, 7])).tolist()
        [0, 2, 4]
    """
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got shape "
                           f"{tuple(boundaries.shape)}")
    vals = input.array if isinstance(input, Tensor) else xp.asarray(input)
    out = xp.searchsorted(boundaries.array, vals, side="right" if right else "left")
    return _wrap(out, xp.int32 if out_int32 else xp.int64)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """``input`` with each run of equal consecutive elements (of the flattened input, or of
    slices along ``dim``) kept once; optionally the int64 run index of every element and the
    length of every run.

    Example:
        >>> import chainrule as cr
        >>> cr.unique_consecutive(cr.tensor([1, 1, 2, 2, 3, 1, 1]), return_counts=True)
        (tensor([1, 2, 3, 1]), tensor([2, 2, 1, 2]))
    """
    a = input.array
    if dim is None:
        rows = a.reshape(-1)
        change = rows[1:] != rows[:-1]
    else:
        d = dim % max(a.ndim, 1)
        rows = xp.moveaxis(a, d, 0)
        change = (rows[1:] != rows[:-1]).reshape(max(rows.shape[0] - 1, 0), -1).any(1)
    starts = xp.concatenate([[True], change]) if rows.shape[0] else xp.zeros(0, bool)
    out = rows[starts]
    values = Tensor._wrap(out if dim is None else xp.moveaxis(out, 0, d))
    results: list[Any] = [values]
    if return_inverse:
        results.append(_wrap((xp.cumsum(starts) - 1).reshape(a.shape if dim is None
                                                              else rows.shape[:1])))
    if return_counts:
        results.append(_wrap(xp.diff(xp.append(xp.flatnonzero(starts), rows.shape[0]))))
    return results[0] if len(results) == 1 else tuple(results)
