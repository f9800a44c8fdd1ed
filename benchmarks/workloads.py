"""The benchmark workloads, each built twice — in chainrule and in PyTorch — over the same data
and the same initial weights, so both frameworks do the same work.

A builder returns ``Workload(step, samples_per_step, flops_per_step)``; ``step()`` runs one
training step (forward, backward, optimizer update) and returns the loss as a float. The
framework is "chainrule", "chainrule-compiled" (the same step through ``cr.compile``) or "torch".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Workload:
    step: Callable[[], float]
    samples_per_step: int
    flops_per_step: float = 0.0


def _copy_weights(cr_model: Any, torch_model: Any) -> None:
    """Load the chainrule model's initial weights into the PyTorch twin (same state_dict keys)."""
    import torch

    state = {k: torch.from_numpy(np.array(v.array)) for k, v in cr_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def _trainer(fw: str, model: Any, loss_fn: Callable[[Any], Any], inputs: tuple[Any, ...],
             twin: Any = None) -> Callable[[], float]:
    """A training step closure for ``model`` with Adam."""
    if fw.startswith("chainrule"):
        import chainrule as cr

        opt = cr.optim.Adam(model.parameters(), lr=1e-3)
    else:
        import torch

        opt = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=False)

    def train(*xs: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(*xs))
        loss.backward()
        opt.step()
        return loss

    if fw == "chainrule-compiled":
        train = cr.compile(train)
    return lambda: float(train(*inputs).item())


def _data(*shapes_and_kinds: tuple[tuple[int, ...], str]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    out = []
    for shape, kind in shapes_and_kinds:
        if kind.startswith("int"):
            out.append(rng.integers(0, int(kind[3:]), shape).astype(np.int64))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    return out


def _model(fw: str, build: Callable[[Any], Any]) -> tuple[Any, Any]:
    """``(library, model)`` for ``fw``: the chainrule model is built first from a fixed seed and
    PyTorch's twin takes its initial weights, so both start from the same point."""
    import chainrule as cr

    cr.manual_seed(0)
    model = build(cr)
    if fw.startswith("chainrule"):
        return cr, model
    import torch

    twin = build(torch)
    _copy_weights(model, twin)
    return torch, twin


def mlp(fw: str, sizes: tuple[int, ...] = (784, 256, 256, 10), batch: int = 128) -> Workload:
    """ReLU MLP with softmax cross entropy and Adam."""

    def build(lib: Any) -> Any:
        layers: list[Any] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(lib.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(lib.nn.ReLU())
        return lib.nn.Sequential(*layers)

    lib, model = _model(fw, build)
    x, y = _data(((batch, sizes[0]), "f"), ((batch,), f"int{sizes[-1]}"))
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    ce = lib.nn.functional.cross_entropy
    flops = 6.0 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return Workload(_trainer(fw, model, lambda out: ce(out, y), (x,)), batch, flops)


def large_mlp(fw: str) -> Workload:
    """4096-4096-4096-10, batch 512: GEMM-bound."""
    return mlp(fw, (4096, 4096, 4096, 10), 512)


def cnn(fw: str, batch: int = 32) -> Workload:
    """The lecture worksheet's CNN (channels-first), Adam, batch 32."""

    def build(lib: Any) -> Any:
        nn = lib.nn
        return nn.Sequential(
            nn.Conv2d(1, 16, 3), nn.ReLU(), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Dropout(0.25), nn.Flatten(), nn.Linear(4608, 128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 10),
        )

    lib, model = _model(fw, build)
    x, y = _data(((batch, 1, 28, 28), "f"), ((batch,), "int10"))
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    ce = lib.nn.functional.cross_entropy
    flops = 6.0 * batch * (26 * 26 * 16 * 9 + 24 * 24 * 32 * 16 * 9 + 4608 * 128 + 1280)
    return Workload(_trainer(fw, model, lambda out: ce(out, y), (x,)), batch, flops)


def lstm(fw: str, batch: int = 32, seq: int = 50, n_in: int = 32, hidden: int = 128) -> Workload:
    """LSTM over a sequence, last hidden state → Linear(128, 10), Adam."""

    def build(lib: Any) -> Any:
        class Net(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = lib.nn.LSTM(n_in, hidden, batch_first=True)
                self.head = lib.nn.Linear(hidden, 10)

            def forward(self, x: Any) -> Any:
                _, (h, _) = self.rnn(x)
                return self.head(h[-1])

        return Net()

    lib, model = _model(fw, build)
    x, y = _data(((batch, seq, n_in), "f"), ((batch,), "int10"))
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    ce = lib.nn.functional.cross_entropy
    flops = 6.0 * batch * seq * 4 * hidden * (n_in + hidden)
    return Workload(_trainer(fw, model, lambda out: ce(out, y), (x,)), batch, flops)


def transformer(fw: str, batch: int = 16, seq: int = 64, d: int = 128) -> Workload:
    """2 post-norm encoder layers (d_model 128, 4 heads, ff 512), mean-pooled → 10 classes."""

    def build(lib: Any) -> Any:
        class Net(lib.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                layer = lib.nn.TransformerEncoderLayer(d, 4, 512, dropout=0.0, batch_first=True)
                self.encoder = lib.nn.TransformerEncoder(layer, 2)
                self.head = lib.nn.Linear(d, 10)

            def forward(self, x: Any) -> Any:
                return self.head(self.encoder(x).mean(1))

        return Net()

    lib, model = _model(fw, build)
    x, y = _data(((batch, seq, d), "f"), ((batch,), "int10"))
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    ce = lib.nn.functional.cross_entropy
    per_layer = 4 * d * d * seq + 2 * seq * seq * d + 2 * d * 512 * seq
    flops = 6.0 * batch * 2 * per_layer
    return Workload(_trainer(fw, model, lambda out: ce(out, y), (x,)), batch, flops)


def overhead(fw: str, n_ops: int = 2000) -> Workload:
    """A chain of small elementwise ops on a 10-element tensor, forward + backward."""
    lib = importlib.import_module("torch" if fw == "torch" else "chainrule")
    x = lib.ones(10, requires_grad=True)

    def chain() -> None:
        h = x
        for _ in range(n_ops // 4):
            h = h * 1.0001
            h = h + 0.5
            h = h.tanh()
            h = h - 0.25
        h.sum().backward()

    if fw == "chainrule-compiled":
        chain = lib.compile(chain)

    def step() -> float:
        chain()
        x.grad = None
        return 0.0

    return Workload(step, n_ops)


WORKLOADS: dict[str, Callable[[str], Workload]] = {
    "overhead": overhead,
    "mlp": mlp,
    "large-mlp": large_mlp,
    "cnn": cnn,
    "lstm": lstm,
    "transformer": transformer,
}

TARGETS = {"overhead": 1 / 1.5, "mlp": 0.8, "large-mlp": 0.9, "cnn": 0.5, "lstm": 0.6,
           "transformer": 0.6, "mnist-epoch": 0.5}
"""chainrule throughput / PyTorch throughput that each workload must reach (issue #7)."""
