"""What ``cr.compile``'s elementwise fusion buys on a step with written-out activations.

    python benchmarks/compile_fusion.py [--steps N]

An MLP whose activations are written as chains of elementwise ops (nanoGPT's tanh GELU, SiLU as
x·σ(x)), trained with AdamW on float32 batches: the eager step, the compiled step replayed op by
op (``use_jit(False)``) and the compiled step with fused kernels, each timed in alternating
blocks, with the first three calls of each compiled step (two traces, then the first replay,
which compiles the kernels).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

import chainrule as cr
from chainrule import kernels, nn


def _gelu(x: cr.Tensor) -> cr.Tensor:
    return 0.5 * x * (1.0 + cr.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3.0)))


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 1024), nn.Linear(1024, 1024), \
            nn.Linear(1024, 10)

    def forward(self, x: cr.Tensor) -> cr.Tensor:
        h = _gelu(self.fc1(x))
        h = self.fc2(h)
        return self.fc3(h * cr.sigmoid(h))


def build(mode: str) -> tuple:
    cr.manual_seed(0)
    model = Net()
    opt = cr.optim.AdamW(model.parameters(), lr=1e-3)

    def step(x: cr.Tensor, y: cr.Tensor) -> cr.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return cr.compile(step) if mode != "eager" else step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((256, 784)).astype(np.float32))
    y = cr.tensor(rng.integers(0, 10, 256))
    modes = {"eager": False, "compiled, replayed op by op": False, "compiled, fused": True}
    steps = {}
    for mode, jit in modes.items():
        with kernels.use_jit(jit):
            steps[mode] = build(mode)
            firsts = []
            for _ in range(3):
                t = time.perf_counter()
                steps[mode](x, y).item()
                firsts.append(time.perf_counter() - t)
        if mode != "eager":
            print(f"{mode}: first calls {', '.join(f'{t:.2f}' for t in firsts)} s")
    times: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(5):
        for mode, jit in modes.items():
            with kernels.use_jit(jit):
                t = time.perf_counter()
                for _ in range(args.steps):
                    steps[mode](x, y).item()
                times[mode].append((time.perf_counter() - t) / args.steps)
    base = statistics.median(times["eager"])
    for mode in modes:
        ms = statistics.median(times[mode])
        print(f"{mode:28s} {ms * 1e3:7.1f} ms/step  {base / ms:5.2f}x eager")


if __name__ == "__main__":
    main()
