"""Samplers and the DataLoader's sampler / batch_sampler / num_workers arguments, against
``torch.utils.data``'s semantics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)


def _ds(n: int = 10) -> TensorDataset:
    return TensorDataset(cr.arange(float(n)).reshape(n, 1), cr.arange(n))


def _labels(loader: DataLoader) -> list[list[int]]:
    return [y.tolist() for _, y in loader]


def test_sequential_and_random_samplers() -> None:
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    order = list(RandomSampler(range(50), generator=cr.Generator(1)))
    assert sorted(order) == list(range(50)) and order != list(range(50))
    again = list(RandomSampler(range(50), generator=cr.Generator(1)))
    assert order == again  # a seeded generator gives the same order


def test_random_sampler_num_samples_and_replacement() -> None:
    s = RandomSampler(range(4), num_samples=10, generator=cr.Generator(0))
    got = list(s)
    assert len(s) == len(got) == 10
    assert sorted(got[:4]) == [0, 1, 2, 3]  # whole permutations, then cut
    r = RandomSampler(range(3), replacement=True, num_samples=200, generator=cr.Generator(0))
    assert len(list(r)) == 200 and set(r) == {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(range(3), num_samples=0)


def test_weighted_sampler_follows_the_weights() -> None:
    s = WeightedRandomSampler([1.0, 3.0, 0.0], 8000, generator=cr.Generator(0))
    counts = np.bincount(list(s), minlength=3)
    assert counts[2] == 0
    assert abs(counts[1] / counts.sum() - 0.75) < 0.02
    no_rep = list(WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False,
                                        generator=cr.Generator(0)))
    assert sorted(no_rep) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="non-negative"):
        WeightedRandomSampler([1.0, -1.0], 2)


@given(n=st.integers(0, 30), bs=st.integers(1, 8), drop=st.booleans())
@settings(max_examples=40, deadline=None)
def test_batch_sampler_groups_in_order(n: int, bs: int, drop: bool) -> None:
    batches = list(BatchSampler(range(n), bs, drop))
    assert len(batches) == len(BatchSampler(range(n), bs, drop))
    flat = [i for b in batches for i in b]
    assert flat == list(range(len(flat)))
    assert all(len(b) == bs for b in batches[:-1])
    assert len(flat) == (n - n % bs if drop else n)


def test_loader_with_a_sampler_uses_its_order() -> None:
    loader = DataLoader(_ds(), batch_size=2, sampler=[9, 8, 7, 0, 1])
    assert _labels(loader) == [[9, 8], [7, 0], [1]]
    assert len(loader) == 3
    sub = DataLoader(_ds(), batch_size=10,
                     sampler=SubsetRandomSampler([2, 4, 6], generator=cr.Generator(0)))
    assert sorted(_labels(sub)[0]) == [2, 4, 6]


def test_loader_with_a_batch_sampler() -> None:
    loader = DataLoader(_ds(), batch_sampler=[[3, 1], [0], [5, 6, 7]])
    assert _labels(loader) == [[3, 1], [0], [5, 6, 7]]
    assert len(loader) == 3


def test_loader_samplers_also_drive_custom_datasets() -> None:
    class Pairs(cr.data.Dataset):
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int) -> tuple[float, int]:
            return float(i), i

    loader = DataLoader(Pairs(), batch_size=2, sampler=[4, 0, 2])
    assert [y.tolist() for _, y in loader] == [[4, 0], [2]]


def test_exclusive_options_are_rejected_like_pytorch() -> None:
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(_ds(), sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(_ds(), batch_size=4, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(_ds(), drop_last=True, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(_ds(), num_workers=-1)


def test_num_workers_and_pin_memory_give_the_same_batches() -> None:
    plain = _labels(DataLoader(_ds(), batch_size=3, shuffle=True, generator=cr.Generator(5)))
    with pytest.warns(UserWarning, match="pin_memory"):  # nothing to pin without a GPU
        compat = _labels(DataLoader(_ds(), batch_size=3, shuffle=True,
                                    generator=cr.Generator(5), num_workers=2, pin_memory=True))
    assert plain == compat


def test_torch_style_import_path() -> None:
    from chainrule.utils.data import DataLoader as Loader
    from chainrule.utils.data import TensorDataset as TD

    assert Loader is DataLoader and TD is TensorDataset


def test_lengths_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    for n, bs, drop in [(10, 3, False), (10, 3, True), (9, 3, True), (1, 4, False)]:
        ours = DataLoader(_ds(n), batch_size=bs, drop_last=drop, sampler=list(range(n)))
        theirs = tdata.DataLoader(tdata.TensorDataset(torch.arange(n)), batch_size=bs,
                                  drop_last=drop, sampler=list(range(n)))
        assert len(ours) == len(theirs)
        assert _labels(ours) == [b[0].tolist() for b in theirs]
    assert list(BatchSampler(range(7), 3, False)) == list(
        tdata.BatchSampler(range(7), 3, False))
