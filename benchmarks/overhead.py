"""Microseconds per small op, forward + backward, in chainrule and (where installed) PyTorch.

    python benchmarks/overhead.py [--quick]

The workload is ``overhead`` of ``run.py``: a 2,000-op chain (mul, add, tanh, sub) on a
10-element tensor, then backward, timed in blocks that alternate between the frameworks. It also
reports how much of chainrule's time went to Python's cyclic garbage collector: the chain keeps
2,000 graph nodes alive, which promotes them to the oldest generation, and each full collection
walks every object in the process, PyTorch's (imported here for the comparison) included.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure  # noqa: E402
from workloads import WORKLOADS  # noqa: E402


def gc_share(seconds: float) -> tuple[float, float]:
    """Microseconds per op of chainrule's chain, and of them the garbage collector's."""
    step = WORKLOADS["overhead"]("chainrule").step
    step()
    spent, started = [0.0], [0.0]

    def clock(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]

    gc.callbacks.append(clock)
    try:
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            n += 1
        elapsed = time.perf_counter() - start
    finally:
        gc.callbacks.remove(clock)
    return elapsed / n / 2000 * 1e6, spent[0] / n / 2000 * 1e6


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    row = measure("overhead", args.quick, os.cpu_count() or 1)
    for fw in ("chainrule", "torch"):
        rate = row.get(f"{fw}_samples_per_s")
        if rate:
            print(f"{fw:10s} {1e6 / rate:6.2f} µs per op (forward + backward)")
    if "ratio" in row:
        print(f"chainrule / PyTorch cost: {1 / row['ratio']:.2f}x (target ≤ 1.5x)")
    per_op, in_gc = gc_share(1.0 if args.quick else 3.0)
    print(f"chainrule again: {per_op:.2f} µs per op, of which the garbage collector "
          f"{in_gc:.2f} µs ({len(gc.get_objects()):,} objects tracked in this process)")
