"""Microseconds per small op, forward + backward, in chainrule and (where installed) PyTorch.

    python benchmarks/overhead.py [--quick]

The workload is ``overhead`` of ``run.py``: a 2,000-op chain (mul, add, tanh, sub) on a
10-element tensor, then backward, timed in blocks that alternate between the frameworks.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import measure  # noqa: E402

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
