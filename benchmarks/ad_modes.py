"""Forward vs reverse mode: the cost of a full Jacobian as the input or output dimension grows.

    python benchmarks/ad_modes.py [--quick] [--repeat R] [--json out.json]

Two families, float64, the same elementwise-plus-matmul body in both:

- f: Rⁿ → R,  f(x) = Σ tanh(A x) · sin(x[:k]) ...  (a scalar loss of n inputs);
  ``jacrev`` needs 1 forward + 1 backward pass, ``jacfwd`` needs n forward passes with tangents.
- g: R → Rᵐ,  g(t) = tanh(t·a) · exp(−t·b)  (a curve of m outputs);
  ``jacfwd`` needs 1 forward pass with a tangent, ``jacrev`` 1 forward + m backward passes.

Each cell is the best of ``--repeat`` timings of one full Jacobian, in milliseconds of CPU time
of this process (``time.process_time``, BLAS pinned to one thread), so that other work on a
shared machine does not inflate it; the last column is jacfwd time / jacrev time (> 1: reverse
mode wins). The figures in docs/forward-vs-reverse.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import chainrule as cr  # noqa: E402
import chainrule.func as F  # noqa: E402


def _scalar_loss(n: int) -> tuple[Callable[[Any], Any], Any]:
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.standard_normal((4, n)) / np.sqrt(n), dtype=cr.float64)

    def f(x: Any) -> Any:
        return (cr.tanh(a @ x) ** 2).sum() + (cr.sin(x) * x).sum()

    return f, cr.tensor(rng.standard_normal(n), dtype=cr.float64)


def _curve(m: int) -> tuple[Callable[[Any], Any], Any]:
    rng = np.random.default_rng(1)
    a = cr.tensor(rng.standard_normal(m), dtype=cr.float64)
    b = cr.tensor(rng.uniform(0, 1, m), dtype=cr.float64)

    def g(t: Any) -> Any:
        return cr.tanh(t * a) * cr.exp(-t * b)

    return g, cr.tensor([0.3], dtype=cr.float64)


def best_ms(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of `repeat` calls of `fn`, in ms of process CPU time."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1e3


def run(sizes: list[int], repeat: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {"R^n -> R": [], "R -> R^m": []}
    for family, make in (("R^n -> R", _scalar_loss), ("R -> R^m", _curve)):
        print(f"\n{family}")
        print(f"| {'n' if family == 'R^n -> R' else 'm':>5} | jacfwd ms | jacrev ms | fwd/rev |")
        print("|------:|----------:|----------:|--------:|")
        for size in sizes:
            fn, x = make(size)
            jf, jr = F.jacfwd(fn)(x), F.jacrev(fn)(x)  # warm-up and a correctness check
            assert np.allclose(jf.array, jr.array, rtol=1e-8, atol=1e-10)
            fwd = best_ms(lambda: F.jacfwd(fn)(x), repeat)  # noqa: B023
            rev = best_ms(lambda: F.jacrev(fn)(x), repeat)  # noqa: B023
            results[family].append({"size": size, "jacfwd_ms": fwd, "jacrev_ms": rev})
            print(f"| {size:>5} | {fwd:>9.2f} | {rev:>9.2f} | {fwd / rev:>7.2f} |", flush=True)
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="sizes up to 100 only")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", default="", help="write the results to this file")
    args = p.parse_args()
    sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000]
    if args.quick:
        sizes = [s for s in sizes if s <= 100]
    results = run(sizes, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
