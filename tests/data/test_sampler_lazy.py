"""RandomSampler draws lazily, so ``num_samples`` may exceed memory, with PyTorch's structure:
whole permutations without replacement, uniform draws with."""

import itertools
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import RandomSampler


def test_huge_num_samples_with_replacement_draws_lazily() -> None:
    sampler = RandomSampler(range(10), replacement=True, num_samples=10**10,
                            generator=cr.Generator(0))
    assert len(sampler) == 10**10
    tracemalloc.start()
    try:
        first = list(itertools.islice(iter(sampler), 10_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # the whole epoch would be 74 GiB of indices
    assert set(first) == set(range(10))


def test_huge_num_samples_without_replacement_draws_one_permutation_at_a_time() -> None:
    sampler = RandomSampler(range(1000), num_samples=10**12, generator=cr.Generator(0))
    tracemalloc.start()
    try:
        first = list(itertools.islice(iter(sampler), 2500))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20
    assert sorted(first[:1000]) == sorted(first[1000:2000]) == list(range(1000))


@pytest.mark.parametrize("n, num_samples", [(4, 10), (5, 5), (3, 1), (6, None)])
def test_without_replacement_structure_matches_torch(n: int, num_samples: int | None) -> None:
    torch = pytest.importorskip("torch")
    ours = list(RandomSampler(range(n), num_samples=num_samples, generator=cr.Generator(1)))
    theirs = list(torch.utils.data.RandomSampler(range(n), num_samples=num_samples,
                                                 generator=torch.Generator().manual_seed(1)))
    assert len(ours) == len(theirs)
    for seq in (ours, theirs):  # whole permutations, then a part of one without repeats
        for start in range(0, len(seq), n):
            block = seq[start:start + n]
            assert len(set(block)) == len(block) and set(block) <= set(range(n))


def test_with_replacement_is_uniform_and_reproducible() -> None:
    def draws(seed: int) -> list[int]:
        return list(RandomSampler(range(7), replacement=True, num_samples=70_000,
                                  generator=cr.Generator(seed)))
    a = draws(3)
    assert a == draws(3) and a != draws(4)
    counts = np.bincount(a, minlength=7)
    assert np.all(np.abs(counts - 10_000) < 500)
