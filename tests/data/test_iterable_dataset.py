"""IterableDataset through the DataLoader: batching, drop_last, unbatched samples, workers
(each iterating its own copy, sharded with get_worker_info, batches round-robin), epochs with
persistent workers, ChainDataset, and the options an iterable stream refuses; the order of
batches against torch.utils.data where installed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import ChainDataset, DataLoader, IterableDataset, get_worker_info


class Shard(IterableDataset):
    """0..n−1, each worker yielding every num_workers-th value from its id."""

    def __init__(self, n: int, shard: bool = True) -> None:
        self.n, self.shard = n, shard

    def __iter__(self) -> Any:
        info = get_worker_info() if self.shard else None
        lo, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter([np.float64(i) for i in range(lo, self.n, step)])

    def __len__(self) -> int:
        return self.n


def _batches(loader: Any) -> list[Any]:
    return [b.tolist() if hasattr(b, "tolist") else b for b in loader]


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_match_torch(workers: int, drop_last: bool) -> None:
    got = _batches(DataLoader(Shard(11), batch_size=3, num_workers=workers,
                              drop_last=drop_last))
    if workers == 0:
        assert got == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] + ([] if drop_last else [[9, 10]])
    else:  # round-robin over the two workers' shards (0 2 4 … and 1 3 5 …)
        assert got == [[0, 2, 4], [1, 3, 5], [6, 8, 10], [7, 9]][:3 if drop_last else 4]
    torch = pytest.importorskip("torch")

    class TorchShard(torch.utils.data.IterableDataset):
        def __iter__(self) -> Any:
            info = torch.utils.data.get_worker_info()
            lo, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter([np.float64(i) for i in range(lo, 11, step)])

    want = _batches(torch.utils.data.DataLoader(TorchShard(), batch_size=3,
                                                num_workers=workers, drop_last=drop_last))
    assert got == want


def test_unbatched_len_chain_and_every_worker_yielding_its_copy() -> None:
    assert _batches(DataLoader(Shard(3), batch_size=None)) == [0.0, 1.0, 2.0]
    assert len(DataLoader(Shard(10), batch_size=4)) == 3
    assert len(DataLoader(Shard(10), batch_size=4, drop_last=True)) == 2
    chained = Shard(2) + Shard(3)
    assert isinstance(chained, ChainDataset) and len(chained) == 5
    assert _batches(DataLoader(chained, batch_size=2)) == [[0, 1], [0, 1], [2]]
    unsharded = _batches(DataLoader(Shard(4, shard=False), batch_size=4, num_workers=2))
    assert unsharded == [[0, 1, 2, 3], [0, 1, 2, 3]]  # (as PyTorch: duplicates unless sharded)


def test_persistent_workers_restart_the_stream_every_epoch() -> None:
    loader = DataLoader(Shard(6), batch_size=2, num_workers=2, persistent_workers=True)
    first, second = _batches(loader), _batches(loader)
    assert first == second == [[0, 2], [1, 3], [4], [5]]


class Broken(IterableDataset):
    def __iter__(self) -> Any:
        yield np.float64(0.0)
        raise ValueError("bad record")


def test_errors_and_refused_options() -> None:
    with pytest.raises(ValueError, match="bad record"):
        _batches(DataLoader(Broken(), batch_size=1, num_workers=1))
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        DataLoader(Shard(3), shuffle=True)
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified sampler"):
        DataLoader(Shard(3), sampler=[0, 1, 2])
    with pytest.raises(TypeError, match="is an IterableDataset"):
        Shard(3)[0]
    assert cr.data.IterableDataset is IterableDataset
