"""``Timer`` and ``Measurement`` (``torch.utils.benchmark``): time a statement in blocks of
runs and print the median, the interquartile range and a warning when they disagree, as
PyTorch does.

Example:
    >>> import chainrule as cr
    >>> t = Timer("x * 2", globals={"x": cr.ones(10)})
    >>> m = t.timeit(100)
    >>> m.number_per_run, len(m.times)
    (100, 1)
"""

from __future__ import annotations

import textwrap
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy

__all__ = ["Measurement", "Timer"]

_IQR_WARN = 0.1
_IQR_GROSS_WARN = 0.25


@dataclass(frozen=True)
class TaskSpec:
    """What was timed: the statement, its setup and the labels of ``Timer``."""

    stmt: str
    setup: str
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (or the statement), with the sub-label."""
        sub = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + sub
        if "\n" not in self.stmt:
            return self.stmt + sub
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n" + textwrap.indent(
            self.stmt, "  ")

    def summarize(self) -> str:
        setup = "" if self.setup in ("pass", "") else (
            f"setup:\n{textwrap.indent(self.setup, '  ')}" if "\n" in self.setup
            else f"setup: {self.setup}")
        return "\n".join(f"{s}\n" if "\n" in s else s
                         for s in (self.title, self.description or "", setup) if s)


@dataclass
class Measurement:
    """The times of one ``Timer`` run: ``raw_times`` are seconds per block of
    ``number_per_run`` runs; ``times`` are seconds per run."""

    number_per_run: int
    raw_times: list[float]
    task_spec: TaskSpec
    metadata: dict[Any, Any] | None = None
    _sorted: Any = field(default=None, repr=False)

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    def _stats(self) -> Any:
        if self._sorted is None:
            self._sorted = numpy.sort(numpy.asarray(self.times, dtype=numpy.float64))
        return self._sorted

    @property
    def median(self) -> float:
        return float(numpy.quantile(self._stats(), 0.5))

    @property
    def mean(self) -> float:
        return float(self._stats().mean())

    @property
    def iqr(self) -> float:
        p25, p75 = numpy.quantile(self._stats(), [0.25, 0.75])
        return float(p75 - p25)

    @property
    def title(self) -> str:
        return self.task_spec.title

    def meets_confidence(self, threshold: float = _IQR_WARN) -> bool:
        """Whether the interquartile range is below ``threshold`` times the median."""
        return self.iqr / self.median < threshold

    @property
    def has_warnings(self) -> bool:
        return bool(self._warnings())

    def _warnings(self) -> list[str]:
        if self.meets_confidence(_IQR_WARN):
            return []
        why = ("This suggests significant environmental influence."
               if not self.meets_confidence(_IQR_GROSS_WARN)
               else "This could indicate system fluctuation.")
        return [f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of the "
                f"median measurement.\n           {why}"]

    def __repr__(self) -> str:
        n = len(self.raw_times)
        unit, scale = _unit(self.median)
        lines = [f"<{type(self).__module__}.{type(self).__name__} object at {hex(id(self))}>",
                 self.task_spec.summarize(),
                 f"  {'Median: ' if n > 1 else ''}{self.median / scale:.2f} {unit}"]
        if n >= 4:
            p25, p75 = numpy.quantile(self._stats(), [0.25, 0.75])
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} ({p25 / scale:.2f} to "
                         f"{p75 / scale:.2f})")
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement,' if n > 1 else ','} {threads} "
                     f"thread{'s' if threads > 1 else ''}")
        lines += self._warnings()
        return "\n".join(lines).strip()


def _unit(t: float) -> tuple[str, float]:
    """The unit that prints ``t`` seconds as O(1) (from its log10 rounded to float32, as
    PyTorch computes it, so 1 µs prints as ``1.00 us``)."""
    log10 = numpy.float32(numpy.log10(float(numpy.float32(t)))) if t > 0 else -9.0
    exponent = int(log10 // 3)
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(exponent, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


class Timer:
    """Time ``stmt`` (after ``setup``) with ``globals`` (``torch.utils.benchmark.Timer``).

    Args:
        stmt: the code to time.
        setup: code run once before timing.
        global_setup: accepted for compatibility (PyTorch uses it for C++ statements).
        timer: the clock (default ``timeit.default_timer``).
        globals: the names ``stmt`` and ``setup`` see.
        label, sub_label, description, env: printed with the measurement.
        num_threads: printed with the measurement (NumPy picks its own thread count).
    """

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = timeit.default_timer,
                 globals: dict[str, Any] | None = None, label: str | None = None,
                 sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer,
                                   globals=dict(globals or {}))
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, label=label, sub_label=sub_label,
                                   description=description, env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return max(self._timer.timeit(number), 1e-9)  # NOTE: a zero time breaks the ratios

    def timeit(self, number: int = 1000000) -> Measurement:
        """Run ``stmt`` ``number`` times (after a warm-up of ``number // 100``) as one block."""
        self._timeit(max(number // 100, 2))
        return Measurement(number, [self._timeit(number)], self._task_spec)

    def _block_size(self, min_run_time: float) -> int:
        """Runs per block so the timer's own cost is negligible (this also warms up)."""
        overhead = float(numpy.median([self._timeit(0) for _ in range(5)]))
        number = 1
        while True:
            took = self._timeit(number)
            if (overhead / took <= 1e-4 and took >= min_run_time / 1000) or \
                    took > min_run_time or number * 10 > 2147483647:
                return number
            number *= 10

    def _blocks(self, number: int, min_run_time: float, stop: Callable[[list[float]], bool],
                max_run_time: float | None, callback: Callable[[int, float], Any] | None
                ) -> list[float]:
        times: list[float] = []
        total, can_stop = 0.0, False
        while total < min_run_time or not can_stop:
            took = self._timeit(number)
            times.append(took)
            total += took
            if callback:
                callback(number, took)
            can_stop = stop(times)
            if max_run_time and total > max_run_time:
                break
        return times

    def blocked_autorange(self, callback: Callable[[int, float], Any] | None = None,
                          min_run_time: float = 0.2) -> Measurement:
        """Blocks of runs, the block size chosen so one block takes at least
        ``min_run_time / 1000``, until ``min_run_time`` seconds have been spent."""
        number = self._block_size(min_run_time)
        times = self._blocks(number, min_run_time, lambda _: True, None, callback)
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0,
                           callback: Callable[[int, float], Any] | None = None) -> Measurement:
        """Like ``blocked_autorange``, but continues until the interquartile range is below
        ``threshold`` times the median (or ``max_run_time`` is reached)."""
        number = self._block_size(min_run_time=0.05)

        def stop(times: list[float]) -> bool:
            if len(times) <= 3:
                return False
            return Measurement(number, times, self._task_spec).meets_confidence(threshold)

        times = self._blocks(number, min_run_time, stop, max_run_time, callback)
        return Measurement(number, times, self._task_spec)
