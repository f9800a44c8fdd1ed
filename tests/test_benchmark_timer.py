"""cr.utils.benchmark.Timer: the same blocks, statistics and printed form as
torch.utils.benchmark.Timer, checked on a deterministic clock (one microsecond per run)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.benchmark import Timer


def _clocked(timer_cls, **kwargs):
    runs = [0]
    return timer_cls("runs[0] += 1", timer=lambda: runs[0] * 1e-6,
                     globals={"runs": runs}, **kwargs)


def test_timeit_runs_the_statement_number_times() -> None:
    m = _clocked(Timer).timeit(500)
    assert m.number_per_run == 500 and len(m.raw_times) == 1
    assert m.times == pytest.approx([1e-6]) and m.median == pytest.approx(1e-6)


def test_blocked_autorange_picks_blocks_and_runs_for_min_run_time() -> None:
    calls = []
    m = _clocked(Timer).blocked_autorange(callback=lambda n, t: calls.append((n, t)),
                                          min_run_time=0.05)
    assert m.number_per_run == 100  # the first block size taking ≥ min_run_time / 1000
    assert sum(m.raw_times) >= 0.05 and len(calls) == len(m.raw_times)
    assert m.iqr == pytest.approx(0.0, abs=1e-15) and not m.has_warnings


@pytest.mark.parametrize("method, kwargs", [
    ("timeit", {"number": 1000}),
    ("blocked_autorange", {"min_run_time": 0.05}),
    ("adaptive_autorange", {"max_run_time": 0.5}),
])
@pytest.mark.parametrize("labels", [{}, {"label": "add", "sub_label": "small",
                                         "description": "ten"}])
def test_printed_form_and_statistics_match_torch(method: str, kwargs: dict, labels) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.utils.benchmark")
    ours = getattr(_clocked(Timer, **labels), method)(**kwargs)
    theirs = getattr(_clocked(torch.utils.benchmark.Timer, **labels), method)(**kwargs)
    assert repr(ours).splitlines()[1:] == repr(theirs).splitlines()[1:]
    assert repr(ours).startswith("<chainrule.utils.benchmark.Measurement object at 0x")
    assert ours.number_per_run == theirs.number_per_run
    for stat in ("median", "mean", "iqr"):
        assert getattr(ours, stat) == pytest.approx(getattr(theirs, stat), abs=1e-15)
    assert ours.title == theirs.title


def test_noisy_measurements_warn_as_torch() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("torch.utils.benchmark")

    def noisy(timer_cls):
        runs, ticks = [0], [0]

        def clock():  # every other block takes four times as long
            ticks[0] += 1
            return runs[0] * 1e-6 * (4 if ticks[0] % 4 in (1, 2) else 1)
        return timer_cls("runs[0] += 1", timer=clock, globals={"runs": runs})

    ours = noisy(Timer).blocked_autorange(min_run_time=0.05)
    theirs = noisy(torch.utils.benchmark.Timer).blocked_autorange(min_run_time=0.05)
    assert ours.has_warnings and theirs.has_warnings
    assert repr(ours).splitlines()[-2:] == repr(theirs).splitlines()[-2:]


def test_times_a_real_statement() -> None:
    x = cr.ones(10)
    m = Timer("x * 2", setup="y = 1", globals={"x": x}).blocked_autorange(min_run_time=0.02)
    assert 0 < m.median < 1e-2 and np.isfinite(m.mean)
    with pytest.raises(ValueError, match="only a `str` stmt"):
        Timer(lambda: None)
