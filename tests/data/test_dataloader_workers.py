"""DataLoader(num_workers=N): batches really loaded in N processes, in sampler order, seeded
per worker as in PyTorch, errors re-raised naming the worker, workers cleaned up."""

import gc
import multiprocessing
import os
import random
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset, get_worker_info


class Probe(Dataset):
    """Sample i: (i, the loading process's pid, its worker id, a draw from each generator)."""

    def __init__(self, n: int = 24, fail_at: int | None = None, exit_at: int | None = None,
                 sleep: float = 0.0) -> None:
        self.n, self.fail_at, self.exit_at, self.sleep = n, fail_at, exit_at, sleep

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if i == self.exit_at:
            os._exit(3)
        time.sleep(self.sleep)
        info = get_worker_info()
        return {"i": i, "pid": os.getpid(), "worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "cr": cr.rand(1).item(), "py": random.random(), "np": np.random.random()}


def _no_children_left() -> bool:
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_batches_come_in_sampler_order_and_equal_the_single_process_ones(workers: int) -> None:
    ds = TensorDataset(cr.arange(60.0).reshape(30, 2), cr.arange(30))
    def epochs(n: int) -> list[list[int]]:
        dl = DataLoader(ds, batch_size=4, shuffle=True, generator=cr.Generator(7),
                        num_workers=n)
        return [[y.tolist() for _, y in dl] for _ in range(2)]
    assert epochs(workers) == epochs(0)
    ordered = DataLoader(Probe(), batch_size=5, num_workers=workers)
    assert [b["i"].tolist() for b in ordered] == [list(range(s, min(s + 5, 24)))
                                                  for s in range(0, 24, 5)]


def test_batches_are_loaded_in_n_worker_processes_round_robin() -> None:
    batches = list(DataLoader(Probe(), batch_size=3, num_workers=3))
    pids = [set(b["pid"].tolist()) for b in batches]
    assert all(len(p) == 1 for p in pids)  # one worker makes one whole batch
    assert len(set.union(*pids)) == 3 and os.getpid() not in set.union(*pids)
    assert [b["worker"][0].item() for b in batches] == [i % 3 for i in range(8)]
    assert _no_children_left()


def test_worker_info_and_per_worker_seeds_follow_torch() -> None:
    calls = multiprocessing.get_context().Queue()
    def init(worker_id: int) -> None:
        info = get_worker_info()
        calls.put((worker_id, info.id, info.num_workers, type(info.dataset).__name__))
    batches = list(DataLoader(Probe(8), batch_size=2, num_workers=2, worker_init_fn=init))
    got = sorted(calls.get(timeout=10) for _ in range(2))
    assert got == [(0, 0, 2, "Probe"), (1, 1, 2, "Probe")]
    assert get_worker_info() is None
    seeds = {b["worker"][0].item(): b["seed"][0].item() for b in batches}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    draws = {k: [b[k][0].item() for b in batches[:2]] for k in ("cr", "py", "np")}
    assert all(a != b for a, b in draws.values())  # the workers' generators differ
    w0 = batches[0]
    random.seed(w0["seed"][0].item())
    assert w0["py"][0].item() == random.random()  # Python's random seeded with the seed
    cr.manual_seed(w0["seed"][0].item())
    assert w0["cr"][0].item() == pytest.approx(cr.rand(1).item())


def test_worker_seeds_are_reproducible_and_change_per_epoch() -> None:
    def seeds(dl: DataLoader) -> list[int]:
        return [b["seed"][0].item() for b in dl]
    cr.manual_seed(0)
    first = seeds(DataLoader(Probe(4), batch_size=2, num_workers=2))
    cr.manual_seed(0)
    dl = DataLoader(Probe(4), batch_size=2, num_workers=2)
    assert seeds(dl) == first
    assert seeds(dl) != first  # a fresh base seed for the next epoch's workers


def test_persistent_workers_live_across_epochs() -> None:
    dl = DataLoader(Probe(6), batch_size=2, num_workers=2, persistent_workers=True)
    pids = [{b["pid"][0].item() for b in dl} for _ in range(3)]
    assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
    assert len(multiprocessing.active_children()) == 2
    it = iter(dl)
    next(it)  # an abandoned epoch: its late batches must not leak into the next one
    del it
    assert [b["i"].tolist() for b in dl] == [[0, 1], [2, 3], [4, 5]]
    del dl
    gc.collect()
    assert _no_children_left()


def test_non_persistent_workers_are_new_each_epoch_and_stop_after_it() -> None:
    dl = DataLoader(Probe(4), batch_size=2, num_workers=2)
    a = {b["pid"][0].item() for b in dl}
    assert _no_children_left()
    b = {b["pid"][0].item() for b in dl}
    assert a.isdisjoint(b)


def test_breaking_out_of_an_epoch_stops_the_workers() -> None:
    it = iter(DataLoader(Probe(40), batch_size=2, num_workers=2, prefetch_factor=4))
    next(it)
    assert multiprocessing.active_children()
    del it
    gc.collect()
    assert _no_children_left()


def test_a_worker_error_is_raised_in_the_main_process_naming_the_worker() -> None:
    with pytest.raises(ValueError) as info:
        list(DataLoader(Probe(8, fail_at=5), batch_size=2, num_workers=2))
    # PyTorch's wording (torch 2.13 raises the same two first lines for this dataset)
    assert str(info.value).splitlines()[:2] == [
        "Caught ValueError in DataLoader worker process 0.",
        "Original Traceback (most recent call last):"]
    assert "bad sample 5" in str(info.value) and "__getitem__" in str(info.value)
    assert _no_children_left()


def test_worker_init_fn_error_is_raised() -> None:
    def init(worker_id: int) -> None:
        raise KeyError("no config")
    with pytest.raises(KeyError, match="in DataLoader worker process"):
        list(DataLoader(Probe(4), batch_size=2, num_workers=1, worker_init_fn=init))
    assert _no_children_left()


def test_a_dead_worker_is_reported() -> None:
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited "
                                           "unexpectedly"):
        list(DataLoader(Probe(8, exit_at=2), batch_size=2, num_workers=2))
    assert _no_children_left()


def test_timeout() -> None:
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(DataLoader(Probe(2, sleep=1.0), batch_size=1, num_workers=1, timeout=0.3))
    assert _no_children_left()


def test_in_order_false_gives_batches_as_they_arrive() -> None:
    class SlowFirst(Probe):
        def __getitem__(self, i: int):
            if i == 0:
                time.sleep(1.0)
            return i

    loader = DataLoader(SlowFirst(4), batch_size=1, num_workers=2, in_order=False)
    order = [b.item() for b in loader]
    assert sorted(order) == [0, 1, 2, 3] and order[0] != 0
    in_order = DataLoader(SlowFirst(4), batch_size=1, num_workers=2)
    assert [b.item() for b in in_order] == [0, 1, 2, 3]


def test_spawn_context_works() -> None:
    ds = TensorDataset(cr.arange(8.0), cr.arange(8))
    dl = DataLoader(ds, batch_size=3, num_workers=2, multiprocessing_context="spawn")
    assert [y.tolist() for _, y in dl] == [[0, 1, 2], [3, 4, 5], [6, 7]]


def test_worker_options_are_checked_as_in_torch() -> None:
    torch = pytest.importorskip("torch")
    for kwargs in ({"prefetch_factor": 2}, {"persistent_workers": True}, {"timeout": -1},
                   {"num_workers": 2, "prefetch_factor": -1}, {"num_workers": -1}):
        with pytest.raises(ValueError) as theirs:
            torch.utils.data.DataLoader(list(range(4)), **kwargs)
        with pytest.raises(ValueError) as ours:
            DataLoader(list(range(4)), **kwargs)
        assert str(ours.value) == str(theirs.value)
    assert DataLoader(list(range(4)), num_workers=2).prefetch_factor == 2


def test_pin_memory_warns_as_torch_without_an_accelerator() -> None:
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning) as ours:
        iter(DataLoader(list(range(4)), pin_memory=True))
    with pytest.warns(UserWarning) as theirs:
        iter(torch.utils.data.DataLoader(list(range(4)), pin_memory=True))
    assert str(ours[0].message) == str(theirs[0].message)
