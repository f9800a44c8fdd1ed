"""Shared test setup: Hypothesis profiles and common fixtures.

Profiles (pick with the environment variable ``HYPOTHESIS_PROFILE``):

- ``ci`` (default): few examples, no deadline, so the whole suite stays fast on a shared box;
- ``dev``: more examples, for local work on an op;
- ``intense``: many examples, for a soak before a release.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# ``import strategies`` and ``import specs`` work from any test directory.
_HERE = Path(__file__).parent
for _p in (_HERE, _HERE / "ops"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=4, deadline=None, suppress_health_check=_QUIET,
                          derandomize=True, database=None)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("intense", max_examples=300, deadline=None,
                          suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed, for tests that need plain random data."""
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _same_random_stream() -> None:
    """Every test starts from seed 0 of the global generator, so its random data does not
    depend on which tests pytest-xdist happened to run before it in the same worker."""
    import chainrule as cr

    cr.manual_seed(0)
