"""Variable-length sequences for the recurrent layers (``torch.nn.utils.rnn``): padding a list
of sequences into one tensor, and packing a padded batch into a ``PackedSequence`` (the steps
of all sequences that are still running, time step by time step) that ``RNN``/``LSTM``/``GRU``
consume and return.

A packed batch is sorted by decreasing length: ``data`` holds ``batch_sizes[0]`` rows for the
first time step, ``batch_sizes[1]`` for the second, and so on; ``sorted_indices`` maps that
order back to the caller's batch (``None`` when the caller's batch was already sorted).
Packing and unpacking are one gather each, so gradients flow through them.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from chainrule.backend import Array, xp
from chainrule.ops.movement import cat
from chainrule.tensor import Tensor


def _invert(perm: Array) -> Array:
    inv = xp.empty_like(perm)
    inv[perm] = xp.arange(perm.size)
    return inv


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences, packed (``torch.nn.utils.rnn.PackedSequence``).

    Attributes:
        data: (Σ lengths, *) the steps of all sequences, time-major.
        batch_sizes: (T_max,) int64, how many sequences are still running at each step.
        sorted_indices: (B,) int64, the caller's batch index of each packed column, or None.
        unsorted_indices: (B,) int64, the inverse permutation, or None.
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if batch_sizes is None:
            raise ValueError("PackedSequence: batch_sizes is required (build one with "
                             "pack_padded_sequence or pack_sequence)")
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = Tensor._wrap(_invert(sorted_indices.array))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same batch with ``data`` cast as ``Tensor.to`` casts it (indices unchanged)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def double(self) -> PackedSequence:
        return self.to(xp.float64)

    def float(self) -> PackedSequence:
        return self.to(xp.float32)

    def cpu(self) -> PackedSequence:
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _order(seq: PackedSequence) -> Array | None:
    return None if seq.sorted_indices is None else seq.sorted_indices.array


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (``torch.nn.utils.rnn.pack_padded_sequence``).

    Args:
        input: (T, B, *), or (B, T, *) with ``batch_first``; steps past a sequence's length
            are ignored.
        lengths: the B lengths (list or int64 tensor), each in 1..T.
        enforce_sorted: require lengths in decreasing order; otherwise the batch is sorted
            here and ``sorted_indices`` records how.

    Example:
        >>> import chainrule as cr
        >>> p = pack_padded_sequence(cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]]), [3, 2],
        ...                          batch_first=True)
        >>> p.data.tolist(), p.batch_sizes.tolist()
        ([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
    """
    lens = xp.asarray(lengths.array if isinstance(lengths, Tensor) else lengths, xp.int64)
    x = input.transpose(0, 1) if batch_first else input
    if lens.ndim != 1 or lens.size != x.shape[1]:
        raise ValueError(f"pack_padded_sequence: expected {x.shape[1]} lengths (one per "
                         f"sequence of the batch), got {lens.tolist()}")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("pack_padded_sequence: Length of all samples has to be greater than "
                           f"0, but found an element in 'lengths' that is <= 0: {lens.tolist()}")
    if lens.size and lens.max() > x.shape[0]:
        raise RuntimeError(f"pack_padded_sequence: a length {int(lens.max())} exceeds the "
                           f"{x.shape[0]} steps of the input of shape {tuple(input.shape)}")
    if enforce_sorted:
        if xp.any(xp.diff(lens) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               "decreasing order when `enforce_sorted` is True. You can pass "
                               "`enforce_sorted=False` to pack_padded_sequence and/or "
                               f"pack_sequence to sidestep this requirement; got "
                               f"{lens.tolist()}")
        order = None
    else:
        order = xp.argsort(-lens, kind="stable")
        lens = lens[order]
    steps = int(lens[0]) if lens.size else 0
    batch_sizes = (lens[None, :] > xp.arange(steps)[:, None]).sum(1)
    # row t·B + b of the (T, B)-flattened input, for each packed step (t, b < batch_sizes[t])
    b = x.shape[1]
    rows = xp.concatenate([t * b + xp.arange(n) for t, n in enumerate(batch_sizes)]) \
        if steps else xp.zeros(0, xp.int64)
    if order is not None:
        rows = (rows // b) * b + order[rows % b]
    data = x.reshape(-1, *x.shape[2:])[Tensor._wrap(rows)]
    sorted_indices = None if order is None else Tensor._wrap(order)
    return PackedSequence(data, Tensor._wrap(batch_sizes.astype(xp.int64)), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Unpack to a padded batch in the caller's order, the inverse of
    :func:`pack_padded_sequence` (``torch.nn.utils.rnn.pad_packed_sequence``).

    Returns:
        (padded (T, B, *) or (B, T, *), lengths (B,) int64), T = ``total_length`` or the
        longest length.
    """
    bs = sequence.batch_sizes.array
    data = sequence.data
    steps, b = int(bs.size), int(bs[0]) if bs.size else 0
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: Expected total_length to be at least the "
                             f"length of the longest sequence in input, but got "
                             f"total_length={total_length} and max sequence length being "
                             f"{steps}")
        steps_out = total_length
    else:
        steps_out = steps
    # for each (t, b) of the padded output, its packed row, or the padding row after the data
    starts = xp.concatenate([[0], xp.cumsum(bs)[:-1]]).astype(xp.int64)
    t_idx, b_idx = xp.meshgrid(xp.arange(steps_out), xp.arange(b), indexing="ij")
    live = t_idx < steps
    t_safe = xp.minimum(t_idx, max(steps - 1, 0))
    live &= b_idx < bs[t_safe]
    src = xp.where(live, starts[t_safe] + b_idx, data.shape[0])
    order = _order(sequence)
    if order is not None:  # packed column j is the caller's sequence order[j]
        src = src[:, _invert(order)]
    pad = Tensor._wrap(xp.full((1, *data.shape[1:]), padding_value, data.dtype))
    padded = cat([data, pad])[Tensor._wrap(src)]
    lengths = (bs[None, :] > xp.arange(b)[:, None]).sum(1)
    if order is not None:
        lengths = lengths[_invert(order)]
    out = padded.transpose(0, 1) if batch_first else padded
    return out, Tensor._wrap(lengths.astype(xp.int64))


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of different lengths (each (L_i, *)) into (T, B, *), or (B, T, *) with
    ``batch_first``, filling with ``padding_value`` on the ``padding_side``
    (``torch.nn.utils.rnn.pad_sequence``).

    Example:
        >>> import chainrule as cr
        >>> pad_sequence([cr.tensor([1.0, 2.0]), cr.tensor([3.0])], batch_first=True).tolist()
        [[1.0, 2.0], [3.0, 0.0]]
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    trail = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trail:
            raise RuntimeError(f"pad_sequence: sequence {i} has shape {tuple(s.shape)}, but "
                               f"every sequence must be (L, *{trail})")
    steps = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        fill = steps - s.shape[0]
        if fill:
            pad = Tensor._wrap(xp.full((fill, *trail), padding_value, s.dtype))
            s = cat([s, pad] if padding_side == "right" else [pad, s])
        rows.append(s.unsqueeze(0 if batch_first else 1))
    return cat(rows, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (each (L_i, *)) directly (``torch.nn.utils.rnn.pack_sequence``).

    Example:
        >>> import chainrule as cr
        >>> pack_sequence([cr.tensor([1.0, 2.0, 3.0]), cr.tensor([4.0])]).batch_sizes.tolist()
        [2, 1, 1]
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths: Any,
                   batch_first: bool = False) -> list[Tensor]:
    """The list of sequences in a padded batch, each cut to its length (the inverse of
    :func:`pad_sequence`)."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [x[i, :int(n)] for i, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences in a packed batch, in the caller's order (the inverse of
    :func:`pack_sequence`)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence",
           "pad_sequence", "unpack_sequence", "unpad_sequence"]
