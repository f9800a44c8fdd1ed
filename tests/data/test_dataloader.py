"""DataLoader: batching, seeded shuffling, drop_last, collation; datasets and random_split."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from chainrule.data.dataloader import default_collate


class Squares(Dataset):
    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int):
        return np.full(2, i, np.float32), i


def _ds(n: int = 10) -> TensorDataset:
    return TensorDataset(cr.tensor(np.arange(2 * n, dtype=np.float32).reshape(n, 2)),
                         cr.tensor(np.arange(n)))


@given(n=st.integers(1, 40), bs=st.integers(1, 12), drop=st.booleans())
@settings(max_examples=40, deadline=None)
def test_batches_cover_the_dataset_once(n: int, bs: int, drop: bool) -> None:
    dl = DataLoader(_ds(n), batch_size=bs, shuffle=True, drop_last=drop,
                    generator=cr.Generator(3))
    batches = list(dl)
    assert len(batches) == len(dl) == (n // bs if drop else -(-n // bs))
    ys = np.concatenate([y.numpy() for _, y in batches]) if batches else np.array([])
    if drop:
        assert all(len(y) == bs for _, y in batches)
        assert len(set(ys.tolist())) == len(ys) == (n // bs) * bs
    else:
        assert sorted(ys.tolist()) == list(range(n))
    for x, y in batches:  # rows stay paired with their labels
        np.testing.assert_array_equal(x.numpy()[:, 0], 2 * y.numpy())


def test_shuffle_is_reproducible_with_a_seed_and_differs_per_epoch() -> None:
    def order(seed: int, epochs: int = 2) -> list[list[int]]:
        dl = DataLoader(_ds(20), batch_size=20, shuffle=True, generator=cr.Generator(seed))
        return [next(iter(dl))[1].tolist() for _ in range(epochs)]

    a, b = order(5), order(5)
    assert a == b
    assert a[0] != a[1]
    assert order(6) != a
    assert sorted(a[0]) == list(range(20))


def test_global_generator_drives_shuffle_without_a_generator() -> None:
    dl = DataLoader(_ds(20), batch_size=20, shuffle=True)
    cr.manual_seed(11)
    first = next(iter(dl))[1].tolist()
    cr.manual_seed(11)
    assert next(iter(dl))[1].tolist() == first


def test_no_shuffle_keeps_order_and_fast_path_equals_per_sample_path() -> None:
    ds = _ds(9)
    fast = list(DataLoader(ds, batch_size=4))
    slow = list(DataLoader(ds, batch_size=4, collate_fn=lambda b: default_collate(b)))
    assert fast[0][1].tolist() == [0, 1, 2, 3]
    for (a, b), (c, d) in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
        assert a.dtype == c.dtype and b.dtype == d.dtype


def test_batches_are_copies() -> None:
    ds = _ds(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.array[...] = -1
    assert ds.tensors[0].numpy().min() == 0


def test_collate_tuples_dicts_lists_numbers() -> None:
    x, y = next(iter(DataLoader(Squares(), batch_size=3)))
    assert x.shape == (3, 2) and x.dtype == np.float32
    assert y.tolist() == [0, 1, 2] and y.dtype == np.int64
    batch = default_collate([{"a": 1.0, "b": [np.ones(2), True], "s": "u"},
                             {"a": 2.0, "b": [np.zeros(2), False], "s": "v"}])
    assert batch["a"].dtype == np.float64 and batch["a"].tolist() == [1.0, 2.0]
    assert batch["b"][0].shape == (2, 2) and batch["b"][1].tolist() == [True, False]
    assert batch["s"] == ["u", "v"]
    P = namedtuple("P", "x y")
    p = default_collate([P(cr.ones(3), 1), P(cr.zeros(3), 2)])
    assert isinstance(p, P) and p.x.shape == (2, 3)
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object()])


def test_invalid_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_ds(), batch_size=0)


def test_tensor_dataset_checks_sizes_and_indexes() -> None:
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(cr.zeros(3, 2), cr.zeros(4))
    x, y = _ds(5)[2]
    assert x.tolist() == [4.0, 5.0] and y.item() == 2


def test_random_split_lengths_fractions_and_seed() -> None:
    ds = _ds(10)
    a, b = random_split(ds, [7, 3], generator=cr.Generator(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))
    c, d = random_split(ds, [7, 3], generator=cr.Generator(0))
    assert a.indices == c.indices
    parts = random_split(ds, [0.5, 0.25, 0.25], generator=cr.Generator(1))
    assert [len(p) for p in parts] == [6, 2, 2]  # floors 5,2,2 then the remainder round-robin
    assert a[0][1].item() == a.indices[0]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [5, 6])


def test_subsets_of_a_tensor_dataset_batch_like_the_per_sample_path() -> None:
    ds = _ds(30)
    a, _ = random_split(ds, [20, 10], generator=cr.Generator(2))
    inner = Subset(a, list(range(19, -1, -2)))  # a subset of a subset
    for data in (a, inner):
        fast = list(DataLoader(data, batch_size=4))
        slow = list(DataLoader(data, batch_size=4, collate_fn=lambda b: default_collate(b)))
        assert len(fast) == len(slow) == -(-len(data) // 4)
        for (x, y), (u, v) in zip(fast, slow):
            np.testing.assert_array_equal(x.numpy(), u.numpy())
            np.testing.assert_array_equal(y.numpy(), v.numpy())
    assert next(iter(DataLoader(inner, batch_size=2)))[1].tolist() == [
        a.indices[19], a.indices[17]]
