"""``DistributedSampler`` against ``torch.utils.data.DistributedSampler``: the same indices
without shuffling, the same lengths and padding rules with it."""

import pytest

from chainrule.data import DistributedSampler

torch_data = pytest.importorskip("torch.utils.data")

CASES = [(n, replicas, drop_last) for n in (1, 5, 10, 11, 16) for replicas in (1, 2, 3, 4, 7)
         for drop_last in (False, True) if not (drop_last and n < replicas)]


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_indices_match_torch_without_shuffle(n, replicas, drop_last):
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                               drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == ours.num_samples
        assert ours.total_size == theirs.total_size


@pytest.mark.parametrize("n,replicas,drop_last", CASES)
def test_shuffled_shards_partition_one_padded_permutation(n, replicas, drop_last):
    shards = [list(DistributedSampler(range(n), replicas, r, seed=7, drop_last=drop_last))
              for r in range(replicas)]
    theirs = torch_data.DistributedSampler(range(n), replicas, 0, seed=7, drop_last=drop_last)
    assert all(len(s) == len(theirs) for s in shards)
    merged = [shards[i % replicas][i // replicas] for i in range(len(theirs) * replicas)]
    head = merged[:min(n, len(merged))]
    assert len(set(head)) == len(head)  # the permutation, then (padding) its own start again
    if not drop_last:
        assert set(merged) == set(range(n))
        assert merged[n:] == (merged[:n] * len(merged))[:len(merged) - n]


def test_epoch_and_seed_choose_the_order():
    def order(epoch, seed=0):
        s = DistributedSampler(range(50), 2, 1, seed=seed)
        s.set_epoch(epoch)
        return list(s)

    assert order(0) == order(0) and order(0) != order(1) and order(0) != order(0, seed=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group has not been called"):
        DistributedSampler(range(4))
