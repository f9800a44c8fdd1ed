"""``EmbeddingBag`` / ``F.embedding_bag``: the layer contract, bag semantics (empty bags,
padding_idx, include_last_offset) and errors naming the operation and the offending values."""

from __future__ import annotations

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _ids(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 10, shape)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_layer_contract(mode: str) -> None:
    check_layer(nn.EmbeddingBag, {"num_embeddings": 10, "embedding_dim": 3, "mode": mode},
                (4, 5), (4, 3), 30, make_input=_ids)


def test_layer_contract_with_offsets_and_padding() -> None:
    def make(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return np.array([0, 2, 2, 5]) if shape == (4,) else rng.integers(0, 10, shape)

    check_layer(nn.EmbeddingBag, {"num_embeddings": 10, "embedding_dim": 3, "padding_idx": 2},
                [(7,), (4,)], (4, 3), 30, make_input=make)


def test_bags_by_hand() -> None:
    w = cr.arange(12.0).reshape(6, 2)
    idx, off = cr.tensor([1, 5, 0, 3, 3]), cr.tensor([0, 2, 2])
    assert F.embedding_bag(idx, w, off, mode="sum").tolist() == [[12, 14], [0, 0], [12, 15]]
    assert F.embedding_bag(idx, w, off, mode="mean").tolist() == [[6, 7], [0, 0], [4, 5]]
    assert F.embedding_bag(idx, w, off, mode="max").tolist() == [[10, 11], [0, 0], [6, 7]]
    last = F.embedding_bag(idx, w, cr.tensor([0, 2, 5]), mode="sum", include_last_offset=True)
    assert last.tolist() == [[12, 14], [12, 15]]
    psw = cr.tensor([1.0, 0.5, 2.0, 0.0, 1.0])
    assert F.embedding_bag(idx, w, off, mode="sum", per_sample_weights=psw).tolist() == [
        [7, 8.5], [0, 0], [6, 9]]


def test_padding_idx_is_left_out_of_bags_and_counts() -> None:
    bag = nn.EmbeddingBag(5, 2, mode="mean", padding_idx=0)
    np.testing.assert_array_equal(bag.weight.array[0], 0)
    x = cr.tensor([[0, 1, 0, 3], [0, 0, 0, 0]])
    out = bag(x)
    np.testing.assert_allclose(out.array[0], (bag.weight.array[1] + bag.weight.array[3]) / 2,
                               rtol=1e-6)
    np.testing.assert_array_equal(out.array[1], 0)
    out.sum().backward()
    np.testing.assert_array_equal(bag.weight.grad.array[0], 0)


def test_max_gradient_goes_to_the_maximum_only() -> None:
    w = cr.tensor([[1.0, 5.0], [3.0, 2.0], [0.0, 0.0]], requires_grad=True)
    F.embedding_bag(cr.tensor([[0, 1, 2]]), w, mode="max").sum().backward()
    assert w.grad.tolist() == [[0, 1], [1, 0], [0, 0]]


def test_from_pretrained_is_frozen() -> None:
    bag = nn.EmbeddingBag.from_pretrained(cr.ones(4, 3), mode="sum")
    assert not bag.weight.requires_grad
    assert bag(cr.tensor([[1, 2]])).tolist() == [[2, 2, 2]]
    assert repr(bag) == "EmbeddingBag(4, 3, mode='sum')"


def test_errors() -> None:
    w = cr.randn(5, 2)
    with pytest.raises(ValueError, match="embedding_bag: if input is 2D, then offsets has to "
                                         "be None"):
        F.embedding_bag(cr.tensor([[1, 2]]), w, cr.tensor([0]))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(cr.tensor([1, 2]), w)
    with pytest.raises(ValueError, match=r"offsets\[0\] has to be 0.* got 1"):
        F.embedding_bag(cr.tensor([1, 2]), w, cr.tensor([1]))
    with pytest.raises(ValueError, match=r"offsets must be non-decreasing .* length 2, got "
                                         r"\[0, 3\]"):
        F.embedding_bag(cr.tensor([1, 2]), w, cr.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"include_last_offset, the last offset must be the "
                                         r"input length 3, got offsets \[0, 2\]"):
        F.embedding_bag(cr.tensor([1, 2, 3]), w, cr.tensor([0, 2]), include_last_offset=True)
    with pytest.raises(ValueError, match=r"mode has to be one of sum, mean or max, got 'min'"):
        F.embedding_bag(cr.tensor([[1]]), w, mode="min")
    with pytest.raises(NotImplementedError, match=r"only supported for mode='sum' \(got "
                                                  r"mode='max'\)"):
        F.embedding_bag(cr.tensor([[1]]), w, mode="max", per_sample_weights=cr.ones(1, 1))
    with pytest.raises(ValueError, match=r"If per_sample_weights \(\(2,\)\) is not None, then "
                                         r"it must have the same shape as the input \(\(1, 1\)"):
        F.embedding_bag(cr.tensor([[1]]), w, mode="sum", per_sample_weights=cr.ones(2))
    with pytest.raises(IndexError, match=r"embedding_bag: indices \[7\] are out of range for 5"):
        F.embedding_bag(cr.tensor([[1, 7]]), w)
    with pytest.raises(TypeError, match="embedding_bag: indices must be an integer tensor"):
        F.embedding_bag(cr.ones(1, 2), w)
    with pytest.raises(ValueError, match=r"EmbeddingBag: padding_idx 5 must be within "
                                         r"num_embeddings \(5\)"):
        nn.EmbeddingBag(5, 2, padding_idx=5)
