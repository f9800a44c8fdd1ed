"""``nn.utils.rnn``: padding and packing variable-length batches, and the recurrent layers on a
``PackedSequence`` (zero outputs past each length, h_n at each sequence's last real step)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)


def _seqs(rng: np.random.Generator, lengths: list[int], dim: int = 3) -> list[cr.Tensor]:
    return [cr.tensor(rng.standard_normal((n, dim)), requires_grad=True) for n in lengths]


def test_pack_layout_by_hand() -> None:
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0], [6.0, 0.0, 0.0]])  # (B, T)
    p = pack_padded_sequence(x, [2, 3, 1], batch_first=True, enforce_sorted=False)
    assert p.data.tolist() == [4.0, 1.0, 6.0, 5.0, 2.0, 0.0]
    assert p.batch_sizes.tolist() == [3, 2, 1] and p.batch_sizes.dtype == cr.int64
    assert p.sorted_indices.tolist() == [1, 0, 2] and p.unsorted_indices.tolist() == [1, 0, 2]
    padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1.0)
    assert padded.tolist() == [[1, 2, -1], [4, 5, 0], [6, -1, -1]]
    assert lengths.tolist() == [2, 3, 1]


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_round_trips(enforce_sorted: bool) -> None:
    rng = np.random.default_rng(0)
    lengths = [4, 3, 3, 1] if enforce_sorted else [3, 4, 1, 3]
    seqs = _seqs(rng, lengths)
    packed = pack_sequence(seqs, enforce_sorted=enforce_sorted)
    for got, want in zip(unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(got.data, want.data)
    padded, lens = pad_packed_sequence(packed, total_length=6)
    assert padded.shape == (6, 4, 3) and lens.tolist() == lengths
    for got, want in zip(unpad_sequence(padded, lens), seqs):
        np.testing.assert_array_equal(got.data, want.data)
    padded.sum().backward()  # every real step reached once, through pack and unpack
    for s in seqs:
        np.testing.assert_array_equal(s.grad.data, 1.0)


def test_packed_sequence_casts() -> None:
    p = pack_sequence([cr.ones(3, 2), cr.ones(1, 2)])
    assert p.double().data.dtype == cr.float64 and p.double().batch_sizes is p.batch_sizes
    assert p.to("cpu") is p and p.cpu() is p and not p.is_cuda


def test_pad_sequence_sides_and_value() -> None:
    a, b = cr.tensor([1.0, 2.0, 3.0]), cr.tensor([4.0])
    assert pad_sequence([a, b]).tolist() == [[1, 4], [2, 0], [3, 0]]
    assert pad_sequence([a, b], batch_first=True, padding_value=9.0,
                        padding_side="left").tolist() == [[1, 2, 3], [9, 9, 4]]


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_packed_rnn_equals_each_sequence_alone(cls: type) -> None:
    """Every sequence of a packed batch gives what it gives run alone, unpadded: outputs
    zero past its length, h_n from its last real step, in the caller's order."""
    rng = np.random.default_rng(1)
    cr.manual_seed(0)
    m = cls(3, 4, num_layers=2, bidirectional=True).double()
    lengths = [2, 5, 1, 4]
    seqs = [cr.tensor(rng.standard_normal((n, 3))) for n in lengths]
    out, state = m(pack_sequence(seqs, enforce_sorted=False))
    assert isinstance(out, PackedSequence)
    padded, _ = pad_packed_sequence(out, batch_first=True)
    h_n = state[0] if cls is nn.LSTM else state
    for i, s in enumerate(seqs):
        alone, alone_state = m(s.unsqueeze(1))
        alone_h = alone_state[0] if cls is nn.LSTM else alone_state
        np.testing.assert_allclose(padded.data[i, :lengths[i]], alone.data[:, 0], atol=1e-12)
        np.testing.assert_array_equal(padded.data[i, lengths[i]:], 0.0)
        np.testing.assert_allclose(h_n.data[:, i], alone_h.data[:, 0], atol=1e-12)


def test_errors() -> None:
    x = cr.randn(4, 2, 3)
    with pytest.raises(RuntimeError, match=r"`lengths` array must be sorted in decreasing "
                                           r"order when `enforce_sorted` is True"):
        pack_padded_sequence(x, [2, 4])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [2, 0])
    with pytest.raises(RuntimeError, match=r"a length 5 exceeds the 4 steps of the input of "
                                           r"shape \(4, 2, 3\)"):
        pack_padded_sequence(x, [5, 2])
    with pytest.raises(ValueError, match=r"expected 2 lengths .* got \[4\]"):
        pack_padded_sequence(x, [4])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of "
                                         "the longest sequence in input, but got "
                                         "total_length=3 and max sequence length being 4"):
        pad_packed_sequence(pack_padded_sequence(x, [4, 2]), total_length=3)
    with pytest.raises(RuntimeError, match=r"pad_sequence: sequence 1 has shape \(2, 4\)"):
        pad_sequence([cr.randn(3, 3), cr.randn(2, 4)])
    with pytest.raises(ValueError, match="padding_side must be 'left' or 'right'"):
        pad_sequence([cr.randn(3)], padding_side="top")
    with pytest.raises(RuntimeError, match=r"LSTM: expected hx of shape \(1, 2, 5\), got "
                                           r"\(1, 3, 5\)"):
        nn.LSTM(3, 5)(pack_padded_sequence(x, [4, 2]), (cr.zeros(1, 3, 5), cr.zeros(1, 3, 5)))
