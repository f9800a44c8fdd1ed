"""The matrix products of a training step, timed as chainrule runs them (MKL where the optional
``mkl`` package is installed, else NumPy's BLAS) and in PyTorch on the same shapes, alternating
in one process: how far the products alone let chainrule go.

    python benchmarks/gemm_ceiling.py [--threads N] [--workloads gpt,char-lstm,...]

For each workload the table lists every distinct product of one step (forward and backward,
with how many times a step runs it), chainrule's and PyTorch's time for it, and the totals. The
"ceiling" is the ratio the whole step would reach if everything but the products took the same
time in both libraries: (PyTorch's step − PyTorch's products + chainrule's products) over
PyTorch's step inverted, from PyTorch's step time measured in the same run. Attention's
products are chainrule's batched ``matmul``, the stack cut into one piece per thread as chainrule's
attention cuts it, against PyTorch's ``bmm``, over whole score matrices (causal attention
skips 3/8 of them in both libraries' fused kernels; PyTorch's does not run them as separate
products).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__)
ARGS.add_argument("--threads", type=int, default=2)
ARGS.add_argument("--workloads", default="gpt,char-lstm,transformer,mlp")
OPTS = ARGS.parse_args() if __name__ == "__main__" else ARGS.parse_args([])
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(OPTS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import WORKLOADS  # noqa: E402

Product = tuple[str, tuple[int, ...], tuple[int, ...], int]
"""(what, a's shape, b's shape, times per step): a @ b, batched over leading dims."""


def _linear(what: str, rows: int, n_in: int, n_out: int, times: int = 1) -> list[Product]:
    """A Linear layer's three products: y = x Wᵀ, ∂x = g W, ∂W = gᵀ x."""
    return [(f"{what} forward", (rows, n_in), (n_in, n_out), times),
            (f"{what} ∂x", (rows, n_out), (n_out, n_in), times),
            (f"{what} ∂W", (n_out, rows), (rows, n_in), times)]


def _attention(heads: int, L: int, d: int, times: int) -> list[Product]:
    """Attention's six products over whole score matrices (two forward, four backward)."""
    return [("q kᵀ", (heads, L, d), (heads, d, L), times),
            ("P v", (heads, L, L), (heads, L, d), times),
            ("Pᵀ G", (heads, L, L), (heads, L, d), times),
            ("G vᵀ", (heads, L, d), (heads, d, L), times),
            ("dS k", (heads, L, L), (heads, L, d), times),
            ("dSᵀ q", (heads, L, L), (heads, L, d), times)]


def products(name: str) -> list[Product]:
    """The products of one training step of ``name`` (the shapes of ``workloads.py``)."""
    if name == "gpt":  # 4 layers, d 128, 4 heads, T 128, batch 16, vocabulary 65
        rows = 16 * 128
        return (_linear("qkv", rows, 128, 384, 4) + _linear("proj", rows, 128, 128, 4)
                + _linear("fc", rows, 128, 512, 4) + _linear("fc proj", rows, 512, 128, 4)
                + _linear("head", rows, 128, 65) + _attention(64, 128, 32, 4))
    if name == "transformer":  # 2 layers, d 128, 4 heads, ff 512, T 64, batch 16
        rows = 16 * 64
        return (_linear("qkv", rows, 128, 384, 2) + _linear("proj", rows, 128, 128, 2)
                + _linear("ff1", rows, 128, 512, 2) + _linear("ff2", rows, 512, 128, 2)
                + _linear("head", 16, 128, 10) + _attention(64, 64, 32, 2))
    if name == "char-lstm":  # emb 64, hidden 256, T 64, batch 32, vocabulary 65
        B, T, H = 32, 64, 256
        return (_linear("input projection", B * T, 64, 4 * H)
                + [("W_hh h (a step)", (4 * H, H), (H, B), T),
                   ("W_hhᵀ ∂gates (a step)", (H, 4 * H), (4 * H, B), T),
                   ("∂W_hh", (4 * H, B * T), (B * T, H), 1)]
                + _linear("head", B * T, H, 65))
    if name == "mlp":  # 784-256-256-10, batch 128
        return (_linear("784→256", 128, 784, 256) + _linear("256→256", 128, 256, 256)
                + _linear("256→10", 128, 256, 10))
    raise SystemExit(f"gemm_ceiling: no product list for {name!r}")


def _our_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """a @ b as chainrule runs it: one BLAS call for matrices, a stack cut into one piece per
    thread (as attention cuts its batch of heads)."""
    from chainrule import threads
    from chainrule.backend import matmul
    from chainrule.ops.attention import PIECE_FLOPS

    if a.ndim == 2:
        matmul(a, b, out=out)
        return
    n = len(a)
    grain = -(-PIECE_FLOPS * n // (2 * out.size * a.shape[-1]))  # (attention's own rule)
    threads.split(lambda lo, hi: matmul(a[lo:hi], b[lo:hi], out=out[lo:hi]), n, grain)


def _timed(fn: Callable[[], object], n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` calls, after a pause.

    NOTE: the pause lets the other library's idle threads stop spinning first: NumPy's
    products ran 2x slower while PyTorch's OpenMP workers still spun (under 1 ms after its
    last op), on the cores NumPy's BLAS threads needed."""
    time.sleep(0.002)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def _pair(sa: tuple[int, ...], sb: tuple[int, ...], rng: np.random.Generator,
          blocks: int = 7, n: int = 20) -> tuple[float, float]:
    """The best block's seconds per product of a (sa) @ b (sb) in chainrule and in PyTorch, the
    two timed in alternating blocks."""
    import torch

    a, b = (rng.standard_normal(s).astype(np.float32) for s in (sa, sb))
    out = np.empty(np.broadcast_shapes(sa[:-2], sb[:-2]) + (sa[-2], sb[-1]), np.float32)
    ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
    ours, theirs = (lambda: _our_product(a, b, out)), (lambda: torch.matmul(ta, tb, out=tout))
    ours(), theirs()
    times = [(_timed(ours, n), _timed(theirs, n)) for _ in range(blocks)]
    return min(t for t, _ in times), min(t for _, t in times)


def main() -> None:
    import torch

    import chainrule as cr
    from chainrule import mkl

    cr.set_num_threads(OPTS.threads)
    torch.set_num_threads(OPTS.threads)
    rng = np.random.default_rng(0)
    blas = "MKL" if mkl.is_available() else "NumPy's BLAS"
    print(f"{OPTS.threads} threads; each product's best of 7 blocks, chainrule's ({blas}) "
          f"alternating with PyTorch's; NumPy {np.__version__}, PyTorch {torch.__version__}")
    for name in OPTS.workloads.split(","):
        rows, ours, theirs = [], 0.0, 0.0
        for what, sa, sb, times in products(name):
            t_np, t_torch = _pair(sa, sb, rng)
            rows.append((what, sa, sb, times, t_np, t_torch))
            ours, theirs = ours + times * t_np, theirs + times * t_torch
        step = WORKLOADS[name]("torch").step
        step()
        step_s = statistics.median(_timed(step, 5) for _ in range(5))
        print(f"\n{name}: PyTorch's step {step_s * 1e3:.1f} ms")
        print(f"{'product':24s} {'a':>15s} {'b':>15s} {'×':>3s} {'ours µs':>9s} "
              f"{'PyTorch µs':>10s} {'ratio':>6s}")
        for what, sa, sb, times, t_np, t_torch in rows:
            print(f"{what:24s} {str(sa):>15s} {str(sb):>15s} {times:3d} {t_np * 1e6:9.1f} "
                  f"{t_torch * 1e6:10.1f} {t_torch / t_np:6.2f}")
        ceiling = step_s / (step_s - theirs + ours)
        print(f"products per step: chainrule {ours * 1e3:.1f} ms, PyTorch {theirs * 1e3:.1f} ms "
              f"(ratio {theirs / ours:.2f}; {theirs / step_s:.0%} of PyTorch's step); "
              f"ceiling of chainrule/PyTorch {ceiling:.2f}")


if __name__ == "__main__":
    main()
