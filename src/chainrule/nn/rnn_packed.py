"""The recurrent layers on a ``PackedSequence``: each direction of each layer runs over the
padded batch (in the packed, length-sorted order) with every sequence's steps masked by its
length, so its state stops at its last real step (where the reverse direction starts) and its
outputs past that step are zero; the result is packed again, and the states are in the
caller's batch order, as in PyTorch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chainrule.backend import xp
from chainrule.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence
from chainrule.ops.elementwise import where
from chainrule.ops.movement import stack
from chainrule.tensor import Tensor

if TYPE_CHECKING:
    from chainrule.nn.rnn import RNNBase


def masked_loop(T: int, rev: bool, step: Any, state: tuple[Tensor, ...],
                live: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    """The time loop of a packed batch: a step changes the state only where ``live[t]``, and
    outputs past a sequence's end are zero."""
    hs: list[Any] = [None] * T
    for t in (range(T - 1, -1, -1) if rev else range(T)):
        new = step(t, *state)
        state = tuple(where(live[t], n, o) for n, o in zip(new, state))
        hs[t] = where(live[t], new[0], 0.0)
    return stack(hs, 0), state[0], (state[1] if len(state) > 1 else None)


def run_packed(rnn: RNNBase, input: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
    """The layers over a packed batch: run on its padded form (in the packed, sorted
    order) with each sequence's steps masked by its length; states are in the caller's
    order, as in PyTorch."""
    lstm = rnn.mode == "LSTM"
    x, lengths = pad_packed_sequence(PackedSequence(input.data, input.batch_sizes))
    if x.shape[-1] != rnn.input_size:
        raise ValueError(f"{type(rnn).__name__}: input.size(-1) must be equal to "
                         f"input_size. Expected {rnn.input_size}, got {x.shape[-1]}")
    dirs = 2 if rnn.bidirectional else 1
    state_shape = (rnn.num_layers * dirs, x.shape[1], rnn.hidden_size)
    order = input.sorted_indices
    if hx is None:
        zeros = Tensor._wrap(xp.zeros(state_shape, x.dtype))
        h0, c0 = zeros, (zeros if lstm else None)
    else:
        h0, c0 = hx if lstm else (hx, None)
        for name, st in (("hx", h0), ("cx", c0)):
            if st is not None and tuple(st.shape) != state_shape:
                raise RuntimeError(f"{type(rnn).__name__}: expected {name} of shape "
                                   f"{state_shape}, got {tuple(st.shape)}")
        if order is not None:  # the caller's batch order → the packed order
            h0 = h0[:, order]
            c0 = c0[:, order] if c0 is not None else None
    steps = xp.arange(x.shape[0])[:, None, None]
    live = Tensor._wrap(steps < lengths.array[None, :, None])
    out, hn, cn = rnn._layers(x, h0, c0, live)
    packed = pack_padded_sequence(out, lengths)
    result = PackedSequence(packed.data, input.batch_sizes, input.sorted_indices,
                            input.unsorted_indices)
    if input.unsorted_indices is not None:  # back to the caller's order
        hn = hn[:, input.unsorted_indices]
        cn = cn[:, input.unsorted_indices] if cn is not None else None
    return result, ((hn, cn) if lstm else hn)
