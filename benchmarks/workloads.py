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
             optimizer: str = "Adam", **opt_kwargs: Any) -> Callable[[], float]:
    """A training step closure for ``model`` with ``optimizer`` (Adam unless told)."""
    opt_kwargs = {"lr": 1e-3, **opt_kwargs}
    if fw.startswith("chainrule"):
        import chainrule as cr

        opt = getattr(cr.optim, optimizer)(model.parameters(), **opt_kwargs)
    else:
        import torch

        opt = getattr(torch.optim, optimizer)(model.parameters(), foreach=False, **opt_kwargs)

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


def gpt(fw: str, batch: int = 16, context: int = 128, d: int = 128, n_layer: int = 4,
        n_head: int = 4, vocab: int = 65) -> Workload:
    """A minGPT/nanoGPT-style decoder-only character model: token + position embeddings, pre-norm
    blocks of causal self-attention and a GELU MLP (4d), a final LayerNorm and an output head
    tied to the token embedding; next-token cross entropy, AdamW (weight decay 0.1)."""

    def build(lib: Any) -> Any:
        nn, F = lib.nn, lib.nn.functional

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
                self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
                self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

            def forward(self, x: Any) -> Any:
                B, T, _ = x.shape
                q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
                q, k, v = (t.reshape(B, T, n_head, d // n_head).transpose(1, 2)
                           for t in (q, k, v))
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, d))
                return x + self.mlp(self.ln_2(x))

        class GPT(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(context, d)
                self.h = nn.ModuleList([Block() for _ in range(n_layer)])
                self.ln_f = nn.LayerNorm(d)
                self.lm_head = nn.Linear(d, vocab, bias=False)
                self.lm_head.weight = self.wte.weight  # weight tying
                for emb in (self.wte, self.wpe):  # GPT-2's initialisation of the embeddings
                    lib.nn.init.normal_(emb.weight, 0.0, 0.02)

            def forward(self, idx: Any) -> Any:
                x = self.wte(idx) + self.wpe(lib.arange(idx.shape[1]))
                for block in self.h:
                    x = block(x)
                return self.lm_head(self.ln_f(x))

        return GPT()

    lib, model = _model(fw, build)
    idx, y = _data(((batch, context), f"int{vocab}"), ((batch, context), f"int{vocab}"))
    idx, y = lib.from_numpy(idx), lib.from_numpy(y).reshape(-1)
    ce = lib.nn.functional.cross_entropy
    tokens = batch * context
    flops = (6.0 * tokens * (n_layer * 12 * d * d + d * vocab)
             + 12.0 * batch * context * context * d * n_layer)
    return Workload(_trainer(fw, model, lambda out: ce(out.reshape(-1, vocab), y), (idx,),
                             "AdamW", lr=3e-4, weight_decay=0.1), batch, flops)


def char_lstm(fw: str, batch: int = 32, seq: int = 64, emb: int = 64, hidden: int = 256,
              vocab: int = 65) -> Workload:
    """A character-level LSTM language model: Embedding(65, 64) → LSTM(64, 256) → Linear(256,
    65) at every position, next-character cross entropy, Adam."""

    def build(lib: Any) -> Any:
        nn = lib.nn

        class CharLSTM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(vocab, emb)
                self.rnn = nn.LSTM(emb, hidden, batch_first=True)
                self.head = nn.Linear(hidden, vocab)

            def forward(self, idx: Any) -> Any:
                out, _ = self.rnn(self.embed(idx))
                return self.head(out)

        return CharLSTM()

    lib, model = _model(fw, build)
    idx, y = _data(((batch, seq), f"int{vocab}"), ((batch, seq), f"int{vocab}"))
    idx, y = lib.from_numpy(idx), lib.from_numpy(y).reshape(-1)
    ce = lib.nn.functional.cross_entropy
    flops = 6.0 * batch * seq * (4 * hidden * (emb + hidden) + hidden * vocab)
    return Workload(_trainer(fw, model, lambda out: ce(out.reshape(-1, vocab), y), (idx,)),
                    batch, flops)


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
    "gpt": gpt,
    "char-lstm": char_lstm,
}

TARGETS = {"overhead": 1 / 1.5, "mlp": 0.8, "large-mlp": 0.9, "cnn": 0.5, "lstm": 0.6,
           "transformer": 0.6, "mnist-epoch": 0.5, "gpt": 1.0, "char-lstm": 0.8}
"""chainrule throughput / PyTorch throughput that each workload must reach (issues #7, #17)."""
