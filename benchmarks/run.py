"""Side-by-side benchmarks: chainrule vs PyTorch (CPU, float32, same data, same weights).

    python benchmarks/run.py [--quick] [--only NAME[,NAME]] [--json out.json] [--check]
                             [--threads N] [--no-memory] [--cpu-time]

Each workload is timed in blocks that alternate between the frameworks in one process, so all
see the same machine state; the table reports samples/s of each, the ratio chainrule/PyTorch
(higher is better for chainrule), GFLOP/s against the GEMM peak measured first, and the peak
resident memory of each, measured in a fresh subprocess per framework and workload. Full runs
also time the step compiled with ``cr.compile`` ("compiled" columns; not with ``--quick``).
``--check`` exits non-zero when any ratio is below 80% of its target (a regression guard; not
part of the test suite). "1st step s" is chainrule's first step, timed apart from the blocks:
it includes compiling the Numba kernels (``CHAINRULE_JIT=0`` turns them off), or loading them
from Numba's on-disk cache in later processes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer, shorter blocks (≈2 minutes)")
    p.add_argument("--only", default="", help="comma-separated workload names")
    p.add_argument("--json", default="", help="write the results to this file")
    p.add_argument("--check", action="store_true", help="fail if a ratio < 80%% of its target")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--cpu-time", action="store_true",
                   help="rate steps per second of this process's CPU time, not wall time\n"
                        "(steadier on a shared machine; use with --threads 1)")
    p.add_argument("--probe-memory", nargs=2, metavar=("WORKLOAD", "FRAMEWORK"),
                   help=argparse.SUPPRESS)
    return p.parse_args()


ARGS = _parse() if __name__ == "__main__" else None
if ARGS is not None:  # BLAS reads its thread count at import: set it before numpy loads.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(HERE))
from workloads import TARGETS, WORKLOADS, Workload  # noqa: E402


def gemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an n×n float32 matmul with NumPy's BLAS."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn: object) -> float:
    t = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t


def _block(w: Workload, seconds: float, clock: Callable[[], float] = time.perf_counter
           ) -> float:
    """Run steps for about ``seconds`` of ``clock``; return steps per second of it."""
    n, start = 0, clock()
    while True:
        w.step()
        n += 1
        elapsed = clock() - start
        if elapsed >= seconds:
            return n / elapsed


def measure_epoch(quick: bool) -> dict[str, object]:
    """Wall time of one worksheet-CNN epoch on the real MNIST in each framework (samples/s)."""
    import mnist_epoch

    fraction = 0.1 if quick else 1.0
    samples = 50_000 * fraction
    row: dict[str, object] = {"workload": "mnist-epoch"}
    row["chainrule_epoch_s"] = mnist_epoch.chainrule_epoch(fraction) / fraction
    row["chainrule_samples_per_s"] = samples / (row["chainrule_epoch_s"] * fraction)  # type: ignore
    try:
        row["torch_epoch_s"] = mnist_epoch.torch_epoch(fraction) / fraction
    except ImportError:
        return row
    row["torch_samples_per_s"] = samples / (row["torch_epoch_s"] * fraction)  # type: ignore
    row["ratio"] = row["torch_epoch_s"] / row["chainrule_epoch_s"]  # type: ignore[operator]
    return row


def measure(name: str, quick: bool, threads: int, cpu_time: bool = False) -> dict[str, object]:
    """Steps/s of each framework on ``name``, in alternating blocks; medians reported. The
    first step of each is timed apart (it includes compiling chainrule's kernels, or loading
    them from Numba's cache) and two more warm up before the blocks."""
    if name == "mnist-epoch":
        return measure_epoch(quick)
    frameworks = ["chainrule"] if quick else ["chainrule", "chainrule-compiled"]
    try:
        import torch

        torch.set_num_threads(threads)
        frameworks.append("torch")
    except ImportError:
        pass
    built = {fw: WORKLOADS[name](fw) for fw in frameworks}
    row: dict[str, object] = {"workload": name}
    for fw, w in built.items():  # warm-up: first-call costs, allocator, caches
        row[f"{fw}_first_step_s"] = _timed(w.step)
        for _ in range(2):
            w.step()
    blocks, seconds = (3, 1.0) if quick else (5, 3.0)
    clock = time.process_time if cpu_time else time.perf_counter
    rates: dict[str, list[float]] = {fw: [] for fw in frameworks}
    for _ in range(blocks):
        for fw in frameworks:
            rates[fw].append(_block(built[fw], seconds, clock))
    for fw in frameworks:
        steps = statistics.median(rates[fw])
        w = built[fw]
        row[f"{fw}_samples_per_s"] = steps * w.samples_per_step
        row[f"{fw}_gflops"] = steps * w.flops_per_step / 1e9 if w.flops_per_step else None
    if "torch" in built:
        row["ratio"] = row["chainrule_samples_per_s"] / row["torch_samples_per_s"]  # type: ignore
        if "chainrule-compiled" in built:
            row["compiled_ratio"] = (row["chainrule-compiled_samples_per_s"]  # type: ignore
                                     / row["torch_samples_per_s"])
    return row


def peak_memory_mb(name: str, fw: str, threads: int) -> float | None:
    """Peak RSS (MiB) of a fresh process that builds ``name`` in ``fw`` and runs a few steps."""
    cmd = [sys.executable, __file__, "--probe-memory", name, fw, "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def _probe(name: str, fw: str) -> None:
    w = WORKLOADS[name](fw)
    for _ in range(5):
        w.step()
    print(_peak_rss_mb())


def _peak_rss_mb() -> float:
    """This process's peak resident memory. NOTE: not ``ru_maxrss``, which Linux carries over
    from the parent across fork + exec; ``VmHWM`` starts afresh with the new image."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fmt(v: object, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> int:
    args = ARGS
    assert args is not None
    if args.probe_memory:
        _probe(*args.probe_memory)
        return 0
    names = [n for n in args.only.split(",") if n] or [*WORKLOADS, "mnist-epoch"]
    unknown = [n for n in names if n not in WORKLOADS and n != "mnist-epoch"]
    if unknown:
        print(f"unknown workload(s) {unknown}; choose from {sorted(WORKLOADS)}", file=sys.stderr)
        return 2
    import platform

    peak = gemm_peak(1024 if args.quick else 2048)
    from chainrule import kernels

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{args.threads} BLAS/torch threads; NumPy {np.__version__}; "
          f"GEMM peak {peak:.0f} GFLOP/s (float32); compiled kernels "
          f"{'on' if kernels.enabled() else 'off'}; rates per "
          f"{'CPU' if args.cpu_time else 'wall'} second")
    rows = []
    for name in names:
        row = measure(name, args.quick, args.threads, args.cpu_time)
        if not args.no_memory and name in WORKLOADS:
            for fw in ("chainrule", "chainrule-compiled", "torch"):
                if f"{fw}_samples_per_s" in row:
                    row[f"{fw}_peak_mb"] = peak_memory_mb(name, fw, args.threads)
        rows.append(row)
        _print_row(row, peak, header=len(rows) == 1)
    failed = [r["workload"] for r in rows
              if r.get("ratio") is not None and r["ratio"] < 0.8 * TARGETS[r["workload"]]]
    if args.json:
        Path(args.json).write_text(json.dumps({"gemm_peak_gflops": peak, "rows": rows}, indent=2))
    if args.check and failed:
        print(f"regression: ratio below 80% of target for {failed}", file=sys.stderr)
        return 1
    return 0


def _print_row(row: dict[str, object], peak: float, header: bool) -> None:
    if header:
        print(f"{'workload':<12} {'chainrule/s':>12} {'torch/s':>12} {'ratio':>6} {'target':>6} "
              f"{'cr GF/s':>8} {'peak%':>6} {'cr MiB':>7} {'torch MiB':>9} "
              f"{'compiled/s':>10} {'c.ratio':>7} {'c. MiB':>6} {'1st step s':>10}")
    gf = row.get("chainrule_gflops")
    name = str(row["workload"])
    print(f"{name:<12} {_fmt(row.get('chainrule_samples_per_s'), '12.0f')} "
          f"{_fmt(row.get('torch_samples_per_s'), '12.0f')} {_fmt(row.get('ratio'), '6.2f')} "
          f"{TARGETS[name]:6.2f} {_fmt(gf, '8.1f')} "
          f"{_fmt(None if gf is None else 100 * gf / peak, '6.0f')} "
          f"{_fmt(row.get('chainrule_peak_mb'), '7.0f')} {_fmt(row.get('torch_peak_mb'), '9.0f')} "
          f"{_fmt(row.get('chainrule-compiled_samples_per_s'), '10.0f')} "
          f"{_fmt(row.get('compiled_ratio'), '7.2f')} "
          f"{_fmt(row.get('chainrule-compiled_peak_mb'), '6.0f')} "
          f"{_fmt(row.get('chainrule_first_step_s'), '10.2f')}",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
