"""The mlp workload of ``run.py`` as a ``jax.jit`` step beside chainrule (eager and compiled)
and PyTorch eager: same weights, same batch, Adam with lr 1e-3, alternating timed blocks.

    python benchmarks/jax_mlp.py [--threads N]

JAX is for this comparison only (CPU ``jax``/``jaxlib``; not a dependency of chainrule). XLA
uses all cores: compare with ``--threads`` equal to the core count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ARGS = argparse.ArgumentParser(description=__doc__)
ARGS.add_argument("--threads", type=int, default=os.cpu_count() or 1)
THREADS = ARGS.parse_args().threads if __name__ == "__main__" else 1
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(THREADS)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import WORKLOADS, Workload, _data  # noqa: E402


def jax_mlp(sizes: tuple[int, ...] = (784, 256, 256, 10), batch: int = 128) -> Workload:
    """The mlp step in JAX: ReLU MLP, softmax cross entropy, Adam (torch's formula), jitted."""
    import jax
    import jax.numpy as jnp

    import chainrule as cr

    cr.manual_seed(0)  # the chainrule model's initial weights, as run.py's twins take them
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(cr.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(cr.nn.ReLU())
    state = cr.nn.Sequential(*layers).state_dict()
    params = [(jnp.asarray(state[f"{2 * i}.weight"].array),
               jnp.asarray(state[f"{2 * i}.bias"].array)) for i in range(len(sizes) - 1)]
    x, y = _data(((batch, sizes[0]), "f"), ((batch,), f"int{sizes[-1]}"))
    x, y = jnp.asarray(x), jnp.asarray(y)

    def loss_fn(params: list, x: jax.Array, y: jax.Array) -> jax.Array:
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def step(params: list, m: list, v: list, t: jax.Array, x: jax.Array,
             y: jax.Array) -> tuple:
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        t = t + 1
        lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        step_size = lr / (1 - b1**t)
        root = jnp.sqrt(1 - b2**t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / root + eps), params, m, v)
        return loss, params, m, v, t

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    carry = [params, zeros, zeros, jnp.asarray(0.0, jnp.float32)]

    def run() -> float:
        loss, *carry[:] = step(*carry, x, y)
        return float(loss)

    return Workload(run, batch)


def main() -> None:
    built = {"chainrule": WORKLOADS["mlp"]("chainrule"),
             "chainrule-compiled": WORKLOADS["mlp"]("chainrule-compiled"),
             "jax-jit": jax_mlp()}
    try:
        import torch

        torch.set_num_threads(THREADS)
        built["torch"] = WORKLOADS["mlp"]("torch")
    except ImportError:
        pass
    first = {}
    for name, w in built.items():
        t = time.perf_counter()
        w.step()
        first[name] = time.perf_counter() - t
        for _ in range(3):
            w.step()
    rates: dict[str, list[float]] = {n: [] for n in built}
    for _ in range(5):
        for name, w in built.items():
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < 2.0:
                w.step()
                n += 1
            rates[name].append(n * w.samples_per_step / (time.perf_counter() - start))
    ref = statistics.median(rates["torch"]) if "torch" in rates else None
    print(f"mlp 784-256-256-10, batch 128, Adam; {THREADS} threads")
    for name, r in rates.items():
        rate = statistics.median(r)
        ratio = f"{rate / ref:5.2f}x PyTorch" if ref else ""
        print(f"{name:20s} {rate:9.0f} samples/s  {ratio}  (first call {first[name]:.2f} s)")


if __name__ == "__main__":
    main()
