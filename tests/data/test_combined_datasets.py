"""ConcatDataset and StackDataset: indexing (negative indices too), lengths, errors and
batching through the DataLoader, against torch.utils.data where installed."""

from __future__ import annotations

import pytest

import chainrule as cr
from chainrule.utils.data import ConcatDataset, DataLoader, StackDataset, TensorDataset


def _parts() -> tuple[TensorDataset, TensorDataset]:
    return TensorDataset(cr.arange(3.0)), TensorDataset(cr.arange(10.0, 14.0))


def test_concat_indexes_across_the_parts_and_batches_over_their_seam() -> None:
    ds = ConcatDataset(_parts())
    assert len(ds) == 7 and ds.cumulative_sizes == [3, 7]
    assert [ds[i][0].item() for i in range(-7, 7)] == [0, 1, 2, 10, 11, 12, 13] * 2
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=3)] == \
        [[0, 1, 2], [10, 11, 12], [13]]
    with pytest.raises(IndexError, match="ConcatDataset: index 7 out of range"):
        ds[7]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        ds[-8]
    with pytest.raises(AssertionError, match="should not be an empty"):
        ConcatDataset([])


def test_stack_pairs_samples_by_position_or_name() -> None:
    a, b = TensorDataset(cr.arange(4.0)), TensorDataset(cr.arange(4) * 2)
    assert [s.item() for (s,), _ in [StackDataset(a, b)[1]]] == [1.0]
    named = StackDataset(x=a, y=b)
    assert set(named[3]) == {"x", "y"} and named[3]["y"][0].item() == 6
    batch = next(iter(DataLoader(named, batch_size=4)))
    assert batch["x"][0].tolist() == [0, 1, 2, 3] and batch["y"][0].tolist() == [0, 2, 4, 6]
    with pytest.raises(ValueError, match="Size mismatch"):
        StackDataset(a, TensorDataset(cr.arange(3)))
    with pytest.raises(ValueError, match="both types are given"):
        StackDataset(a, y=b)


def test_same_samples_as_torch() -> None:
    torch = pytest.importorskip("torch")
    tds = torch.utils.data
    ours = ConcatDataset([ConcatDataset(_parts()), TensorDataset(cr.arange(2.0))])
    theirs = tds.ConcatDataset([tds.ConcatDataset([tds.TensorDataset(torch.arange(3.0)),
                                                   tds.TensorDataset(torch.arange(10.0, 14.0))]),
                                tds.TensorDataset(torch.arange(2.0))])
    assert len(ours) == len(theirs)
    assert [ours[i][0].item() for i in range(-len(ours), len(ours))] == \
        [theirs[i][0].item() for i in range(-len(theirs), len(theirs))]
