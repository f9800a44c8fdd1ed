"""Data-parallel scaling: chainrule DDP over MPI against PyTorch DDP over gloo.

    python benchmarks/distributed.py [--quick] [--only throughput|bandwidth]
                                     [--workloads large-mlp,cnn] [--json out.json]

Launches ``mpirun`` jobs of this script (one BLAS thread per rank) and prints:

* throughput (samples/s over all ranks) of large-mlp and the worksheet ConvNet at 1 and 2 ranks
  with a fixed per-rank batch (weak scaling), for chainrule (DDP over MPI) and PyTorch (DDP over
  gloo, started by the same ``mpirun``), and the scaling efficiency
  throughput(2) / (2 × throughput(1)); next to it the machine's ceiling: the same two ranks
  each training the plain model alone (no communication), timed in blocks alternating with
  DDP's — what sharing the cores, caches and memory bus costs before any communication;
* the cost of DDP at 1 rank over the plain model (the hooks, bucket copies and allreduce calls),
  timed in blocks alternating with the plain model's in one process;
* all-reduce time at 2 ranks on the same buffer sizes, each measured over a run of all-reduces
  issued back to back and waited for at the end, as backward issues a model's buckets, the
  paths timed in alternation: raw ``mpi4py`` ``Allreduce``; DDP's buckets all-reduced as the
  reducer starts them (on the training thread or the communication thread, as it chooses) and
  waits for them; the whole reducer path
  of one-bucket parameters (each gradient copied into its bucket, all-reduced, averaged back
  into ``.grad``, hooks fired as the autograd engine fires them); and ``dist.all_reduce``
  (synchronous, and it also checks the ranks' shapes) — the inputs of the
  efficiency model in ``docs/distributed.md``.

``--only throughput`` or ``--only bandwidth`` runs one part (the latter in a few seconds, on
2 ranks); ``--workloads`` names the throughput workloads to run (both unless told). Results on
a machine shared with other work are noisy; compare figures from one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
THREADS = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
os.environ.update(THREADS)  # BLAS reads these at import: before numpy loads

import numpy as np  # noqa: E402

# ---- workloads (the same code builds the chainrule and the PyTorch model) ---------------------
SIZES = {"large-mlp": {"quick": 128, "full": 512}, "cnn": {"quick": 32, "full": 32}}
# (warm-up, timed) steps per block: the ConvNet's step is ~20 ms, so its blocks take 20 steps
STEPS = {"large-mlp": {"quick": (1, 2), "full": (2, 5)}, "cnn": {"quick": (1, 5), "full": (3, 20)}}
ROUNDS = {"quick": 3, "full": 7}  # blocks per variant


def build(lib: Any, name: str) -> Any:
    nn = lib.nn
    if name == "large-mlp":
        return nn.Sequential(nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(),
                             nn.Linear(4096, 10))
    return nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4608, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def batch(name: str, n: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(rank)
    shape = (n, 4096) if name == "large-mlp" else (n, 1, 28, 28)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, n)


def trainer(lib: Any, model: Any, name: str, b: int, rank: int) -> Any:
    """One Adam training step of ``model`` on a fixed batch."""
    x, y = (lib.from_numpy(a) for a in batch(name, b, rank))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    ce = lib.nn.functional.cross_entropy

    def step() -> None:
        opt.zero_grad()
        ce(model(x), y).backward()
        opt.step()
    return step


def throughput(steps: dict[str, Any], name: str, b: int, size: int, mode: str,
               barrier: Any) -> dict[str, float]:
    """Samples/s over all ranks of each step function of workload ``name``, timed in
    alternating blocks (so all see the same machine state); the median block decides."""
    warm, timed = STEPS[name][mode]
    times: dict[str, list[float]] = {k: [] for k in steps}
    for step in steps.values():
        for _ in range(warm):
            step()
    for _ in range(ROUNDS[mode]):
        for key, step in steps.items():
            barrier()
            start = time.perf_counter()
            for _ in range(timed):
                step()
            barrier()
            times[key].append(time.perf_counter() - start)
    return {k: timed * b * size / float(np.median(v)) for k, v in times.items()}


# ---- workers (run under mpirun) --------------------------------------------------------------
def chainrule_worker(mode: str, only: str, names: list[str]) -> dict[str, Any]:
    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    rank, size = dist.get_rank(), dist.get_world_size()
    out: dict[str, Any] = {}
    for name in names if only != "bandwidth" else ():
        b = SIZES[name]
        cr.manual_seed(0)  # plain: each rank trains alone (at 2 ranks, the machine's ceiling)
        steps = {"plain": trainer(cr, build(cr, name), name, b[mode], rank)}
        cr.manual_seed(0)
        steps["ddp"] = trainer(cr, DDP(build(cr, name)), name, b[mode], rank)
        for key, value in throughput(steps, name, b[mode], size, mode, dist.barrier).items():
            out[f"{name}/{key}"] = value
    if size > 1 and only != "throughput":
        out["allreduce"] = bandwidth(mode)
    return out if rank == 0 else {}


def bandwidth(mode: str) -> dict[str, Any]:
    """Seconds per all-reduce of float32 buffers, by size, for the four paths. As in a
    backward pass, each timed call is a run of k all-reduces (k = 8, fewer above 8 MB) issued
    one after another and waited for at the end; the paths are timed in alternation (every
    repetition runs each once, so all see the same machine state)."""
    import chainrule as cr
    import chainrule.distributed as dist
    from chainrule.autograd import post_accumulate
    from chainrule.distributed import process_group
    from chainrule.distributed.reducer import Reducer

    MPI = process_group.mpi()
    world = process_group._world
    comm = world.comm.Dup()  # raw mpi4py calls from this thread, on a communicator of their own
    sizes = [2**k for k in ((4, 12, 18, 22) if mode == "quick" else (4, 10, 14, 18, 20, 22, 24))]
    reps = 9 if mode == "quick" else 101
    result: dict[str, Any] = {}
    for n in sizes:
        k = min(8, 2**26 // n)
        bufs = [np.ones(n // 4, dtype=np.float32) for _ in range(k)]
        tensors = [cr.from_numpy(b.copy()) for b in bufs]
        # DDP's reducer over k parameters of n bytes, one bucket each (a tiny cap closes every
        # bucket at its first parameter), driven as backward drives it: the autograd engine
        # fires each parameter's hook when its gradient is complete, last parameter first.
        params = [cr.nn.Parameter(cr.from_numpy(np.zeros(n // 4, dtype=np.float32)))
                  for _ in range(k)]
        for p in params:
            p.grad = cr.from_numpy(np.ones(n // 4, dtype=np.float32))
        reducer = Reducer(world, params, [str(i) for i in range(k)], bucket_cap_mb=1e-9)

        def whole(params: list[Any] = params, reducer: Reducer = reducer) -> None:
            reducer.prepare()
            for p in reversed(params):
                post_accumulate.fire({id(p): 1}, p)

        def launched(reducer: Reducer = reducer) -> None:
            for bucket in reducer.buckets:
                reducer.launch(bucket)
            for bucket in reducer.buckets:
                reducer.reduced(bucket)

        def raw(bufs: list[np.ndarray] = bufs) -> None:
            for b in bufs:
                comm.Allreduce(MPI.IN_PLACE, b)

        def checked(tensors: list[Any] = tensors) -> None:
            for t in tensors:
                dist.all_reduce(t)

        paths = {"mpi4py": raw, "ddp-bucket": launched, "ddp-bucket+copies": whole,
                 "dist.all_reduce": checked}
        times: dict[str, list[float]] = {key: [] for key in paths}
        for fn in paths.values():
            fn()
        for _ in range(reps):
            for path, fn in paths.items():
                comm.Barrier()
                start = time.perf_counter()
                fn()
                times[path].append((time.perf_counter() - start) / k)
        result[str(n)] = {key: float(np.median(v)) for key, v in times.items()}
        reducer.remove()
    return result


def torch_worker(mode: str, only: str, names: list[str]) -> dict[str, Any]:
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
    size = int(os.environ["OMPI_COMM_WORLD_SIZE"])
    tdist.init_process_group("gloo", rank=rank, world_size=size)
    out: dict[str, Any] = {}
    for name in names:
        b = SIZES[name]
        torch.manual_seed(0)
        steps = {"plain": trainer(torch, build(torch, name), name, b[mode], rank)}
        torch.manual_seed(0)
        ddp = torch.nn.parallel.DistributedDataParallel(build(torch, name))
        steps["ddp"] = trainer(torch, ddp, name, b[mode], rank)
        for key, value in throughput(steps, name, b[mode], size, mode, tdist.barrier).items():
            out[f"{name}/{key}"] = value
    tdist.destroy_process_group()
    return out if rank == 0 else {}


# ---- driver ----------------------------------------------------------------------------------
def launch(framework: str, n: int, mode: str, only: str, names: list[str],
           tries: int = 3) -> dict[str, Any]:
    """The result of one ``mpirun`` job of ``framework`` on ``n`` ranks; a job whose rendezvous
    port was taken between choosing it and listening on it is started again on another."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, **THREADS, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=str(HERE.parents[1] / "src") + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    cmd = [shutil.which("mpirun") or "mpirun", "-n", str(n), "--oversubscribe", "--bind-to",
           "none", sys.executable, str(HERE), "--worker", framework, "--mode", mode,
           "--only", only, "--workloads", ",".join(names)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if done.returncode != 0 and "EADDRINUSE" in done.stderr and tries > 1:
        return launch(framework, n, mode, only, names, tries - 1)
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def report(res: dict[str, Any]) -> None:
    if res["only"] != "bandwidth":
        report_throughput(res)
    if res["only"] != "throughput":
        report_bandwidth(res)


def report_throughput(res: dict[str, Any]) -> None:
    print(f"\nthroughput, samples/s over all ranks (per-rank batch: "
          f"{ {k: SIZES[k][res['mode']] for k in res['workloads']} }, one BLAS thread per rank)")
    print(f"{'workload':<11}{'framework':<11}{'plain 1':>10}{'DDP 1':>10}{'plain 2':>10}"
          f"{'DDP 2':>10}{'DDP-1 cost':>12}{'efficiency':>12}{'ceiling':>9}")
    for name in res["workloads"]:
        for fw in ("chainrule", "torch"):
            one, two = res[fw]["1"], res[fw]["2"]
            plain, d1, d2 = one[f"{name}/plain"], one[f"{name}/ddp"], two[f"{name}/ddp"]
            alone = two[f"{name}/plain"]
            print(f"{name:<11}{fw:<11}{plain:>10.1f}{d1:>10.1f}{alone:>10.1f}{d2:>10.1f}"
                  f"{plain / d1 - 1:>11.1%} {d2 / (2 * plain):>11.2f}"
                  f"{alone / (2 * plain):>9.2f}")
    print("(ceiling: two ranks each training alone, no communication, over 2 x plain 1)")


def report_bandwidth(res: dict[str, Any]) -> None:
    paths = ("mpi4py", "ddp-bucket", "ddp-bucket+copies", "dist.all_reduce")
    print("\nall-reduce at 2 ranks: median seconds per call (GB/s of buffer; ratio to mpi4py)")
    print(f"{'bytes':>10}{'mpi4py':>22}" + "".join(f"{p:>30}" for p in paths[1:]))
    for n, row in res["chainrule"]["2"]["allreduce"].items():
        raw = row["mpi4py"]
        print(f"{int(n):>10}{raw:>12.2e} {int(n) / raw / 1e9:>5.2f} GB/s" + "".join(
            f"{row[p]:>14.2e} {int(n) / row[p] / 1e9:>5.2f} GB/s {raw / row[p]:>4.2f}"
            for p in paths[1:]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller batches, fewer steps")
    p.add_argument("--only", choices=["all", "throughput", "bandwidth"], default="all",
                   help="measure only training throughput or only all-reduce bandwidth")
    p.add_argument("--workloads", default=",".join(SIZES),
                   help="comma-separated throughput workloads (default: all of them)")
    p.add_argument("--json", default="", help="write the results to this file")
    p.add_argument("--worker", choices=["chainrule", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--mode", default="full", help=argparse.SUPPRESS)
    args = p.parse_args()
    names = args.workloads.split(",")
    if unknown := set(names) - set(SIZES):
        p.error(f"unknown workload(s) {sorted(unknown)}; choose from {list(SIZES)}")
    if args.worker:
        worker = chainrule_worker if args.worker == "chainrule" else torch_worker
        out = worker(args.mode, args.only, names)
        if out:
            print("RESULT " + json.dumps(out), flush=True)
        return
    mode = "quick" if args.quick else "full"
    res: dict[str, Any] = {"mode": mode, "only": args.only, "workloads": names,
                           "cpus": os.cpu_count(),
                           "load_before": os.getloadavg()[0]}
    jobs = ([("chainrule", 2)] if args.only == "bandwidth"
            else [(fw, n) for fw in ("chainrule", "torch") for n in (1, 2)])
    for fw, n in jobs:
        print(f"running {fw} on {n} rank(s)...", file=sys.stderr, flush=True)
        res.setdefault(fw, {})[str(n)] = launch(fw, n, mode, args.only, names)
    res["load_after"] = os.getloadavg()[0]
    report(res)
    print(f"\nload average before/after: {res['load_before']:.1f} / {res['load_after']:.1f} "
          f"on {res['cpus']} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
