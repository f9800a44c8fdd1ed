"""Character-level language model on Tiny Shakespeare: an LSTM or a small Transformer.

    python examples/char_lm.py --model lstm --steps 1500 [--data input.txt]
    python examples/char_lm.py --model transformer --steps 1500 --compare-torch

The text: tinyshakespeare (about 40,000 lines of Shakespeare's plays, 1.1 MB, from
karpathy/char-rnn: https://raw.githubusercontent.com/karpathy/char-rnn/master/data/
tinyshakespeare/input.txt). Its first 100,019 characters ship in ``examples/data/`` and are the
default, so the script runs anywhere; for the whole corpus download that file and pass
``--data input.txt`` (or set ``$TINYSHAKESPEARE`` to its path).

The text is split by position: the first 90 % trains, the last 10 % validates. Training draws
random windows of ``--seq-len + 1`` characters; the validation loss (nats per character) is the
mean cross entropy over every non-overlapping window of the validation split. After training
the model samples text from a prompt.

With ``--compare-torch`` the same model is built in PyTorch with the same initial weights
(copied through the PyTorch-compatible ``state_dict``), trained on the same batches with the same
optimizer settings, step by step alternately, and both validation losses and times per step are
printed side by side.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

EXCERPT = Path(__file__).resolve().parent / "data" / "tinyshakespeare_excerpt.txt"
FULL_URL = ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/"
            "input.txt")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=["lstm", "transformer"], default="lstm")
    p.add_argument("--data", default=os.environ.get("TINYSHAKESPEARE", str(EXCERPT)),
                   help="the training text (default: $TINYSHAKESPEARE, else the shipped "
                   "100 kB excerpt of tinyshakespeare)")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256, help="LSTM hidden size / d_model")
    p.add_argument("--embed", type=int, default=64, help="LSTM character embedding size")
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: off)")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--sample-chars", type=int, default=300)
    p.add_argument("--prompt", default="ROMEO:\n")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads")
    p.add_argument("--compare-torch", action="store_true",
                   help="train the same model in PyTorch side by side (needs torch)")
    a = p.parse_args(argv)
    if not os.path.isfile(a.data):
        raise SystemExit(f"char_lm.py: --data {a.data}: no such file (tinyshakespeare is at "
                         f"{FULL_URL})")
    return a


ARGS = parse_args()
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)  # before NumPy loads its BLAS
if ARGS.compare_torch:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SystemExit("char_lm.py: --compare-torch needs PyTorch, which is not installed "
                         "(pip install torch)") from None

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
import chainrule.nn.utils  # noqa: E402, F401
import chainrule.optim  # noqa: E402, F401


def _cr_layers() -> dict[str, Any]:
    """chainrule's layer classes by PyTorch name (imported from their modules)."""
    from chainrule.nn.modules.linear import Linear
    from chainrule.nn.modules.normalization import LayerNorm
    from chainrule.nn.modules.rnn import LSTM
    from chainrule.nn.modules.sparse import Embedding

    layers = dict(Linear=Linear, LayerNorm=LayerNorm, LSTM=LSTM, Embedding=Embedding,
                  Module=cr.nn.Module, Parameter=cr.nn.Parameter)
    if ARGS.model == "transformer":
        from chainrule.nn.modules.transformer import TransformerEncoder, TransformerEncoderLayer

        layers.update(TransformerEncoder=TransformerEncoder,
                      TransformerEncoderLayer=TransformerEncoderLayer)
    return layers


def _torch_layers() -> dict[str, Any]:
    import torch.nn as tnn

    return {k: getattr(tnn, k) for k in ("Linear", "LayerNorm", "LSTM", "Embedding",
                                         "TransformerEncoder", "TransformerEncoderLayer",
                                         "Module", "Parameter")}


def build_model(lib: Any, L: dict[str, Any], vocab: int, a: argparse.Namespace) -> Any:
    """The same architecture in chainrule or PyTorch (``lib`` is the top-level package)."""

    class LSTMLM(L["Module"]):
        def __init__(self) -> None:
            super().__init__()
            self.embed = L["Embedding"](vocab, a.embed)
            self.rnn = L["LSTM"](a.embed, a.hidden, num_layers=a.layers, batch_first=True)
            self.head = L["Linear"](a.hidden, vocab)

        def forward(self, idx: Any, state: Any = None) -> tuple[Any, Any]:
            out, state = self.rnn(self.embed(idx), state)
            return self.head(out), state

    class TransformerLM(L["Module"]):
        def __init__(self) -> None:
            super().__init__()
            d = a.hidden
            self.embed = L["Embedding"](vocab, d)
            self.pos = L["Parameter"](lib.zeros(a.seq_len, d))
            layer = L["TransformerEncoderLayer"](d, a.heads, 4 * d, dropout=0.0,
                                                 batch_first=True, norm_first=True)
            self.encoder = L["TransformerEncoder"](layer, a.layers)
            self.norm = L["LayerNorm"](d)
            self.head = L["Linear"](d, vocab)
            with lib.no_grad():
                self.pos.normal_(0.0, 0.02)
            mask = np.triu(np.full((a.seq_len, a.seq_len), -np.inf, np.float32), 1)
            self.mask = lib.from_numpy(mask)

        def forward(self, idx: Any, state: Any = None) -> tuple[Any, Any]:
            T = idx.shape[1]
            x = self.embed(idx) + self.pos[:T]
            x = self.encoder(x, mask=self.mask[:T, :T])
            return self.head(self.norm(x)), None

    return LSTMLM() if a.model == "lstm" else TransformerLM()


class Trainer:
    """One framework's model, optimizer and step/eval/sample functions."""

    def __init__(self, fw: str, model: Any, a: argparse.Namespace) -> None:
        self.fw, self.model, self.a = fw, model, a
        if fw == "chainrule":
            self.lib = cr
            self.opt = cr.optim.Adam(model.parameters(), lr=a.lr)
            self.ce = cr.nn.functional.cross_entropy
            self.clip = cr.nn.utils.clip_grad_norm_
        else:
            import torch

            self.lib = torch
            self.opt = torch.optim.Adam(model.parameters(), lr=a.lr, foreach=False)
            self.ce = torch.nn.functional.cross_entropy
            self.clip = torch.nn.utils.clip_grad_norm_
        self.times: list[float] = []

    def _t(self, arr: np.ndarray) -> Any:
        return self.lib.from_numpy(arr)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        t0 = time.perf_counter()
        self.model.train()
        self.opt.zero_grad()
        logits, _ = self.model(self._t(x))
        loss = self.ce(logits.reshape(-1, logits.shape[-1]), self._t(y).reshape(-1))
        loss.backward()
        if self.a.clip:
            self.clip(self.model.parameters(), self.a.clip)
        self.opt.step()
        value = float(loss.item())
        self.times.append(time.perf_counter() - t0)
        return value

    def evaluate(self, windows: np.ndarray) -> float:
        """Mean cross entropy (nats/char) over the validation windows (N, T + 1)."""
        self.model.eval()
        total, n = 0.0, 0
        with self.lib.no_grad():
            for i in range(0, len(windows), 64):
                w = windows[i:i + 64]
                logits, _ = self.model(self._t(w[:, :-1]))
                loss = self.ce(logits.reshape(-1, logits.shape[-1]),
                               self._t(w[:, 1:]).reshape(-1))
                total += float(loss.item()) * w[:, 1:].size
                n += w[:, 1:].size
        return total / n

    def sample(self, prompt: np.ndarray, n: int, rng: np.random.Generator,
               temperature: float = 0.8) -> list[int]:
        self.model.eval()
        out = list(prompt)
        with self.lib.no_grad():
            if self.a.model == "lstm":
                logits, state = self.model(self._t(prompt[None]))
                for _ in range(n):
                    out.append(self._draw(logits, rng, temperature))
                    logits, state = self.model(self._t(np.array([[out[-1]]])), state)
            else:
                for _ in range(n):
                    ctx = np.array([out[-self.a.seq_len:]])
                    logits, _ = self.model(self._t(ctx))
                    out.append(self._draw(logits, rng, temperature))
        return out

    @staticmethod
    def _draw(logits: Any, rng: np.random.Generator, temperature: float) -> int:
        z = np.asarray(logits.detach().numpy()[0, -1], np.float64) / temperature
        p = np.exp(z - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))


def copy_weights(src: Any, dst: Any) -> None:
    import torch

    dst.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in
                         src.state_dict().items()}, strict=True)


def main(a: argparse.Namespace) -> None:
    with open(a.data, encoding="utf-8") as f:
        text = f.read()
    print(f"text: {a.data}" + (" (an excerpt of tinyshakespeare; the whole corpus: "
                               f"{FULL_URL})" if Path(a.data) == EXCERPT else ""))
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], np.int64)
    split = int(0.9 * len(data))
    train, val = data[:split], data[split:]
    T = a.seq_len
    n_val = (len(val) - 1) // T
    val_windows = np.stack([val[i * T:i * T + T + 1] for i in range(n_val)])
    print(f"{len(text):,} chars, vocab {len(chars)}, train {len(train):,}, val {len(val):,} "
          f"({n_val} windows of {T})")

    cr.manual_seed(a.seed)
    trainers = [Trainer("chainrule", build_model(cr, _cr_layers(), len(chars), a), a)]
    if a.compare_torch:
        import torch

        torch.manual_seed(a.seed)
        torch.set_num_threads(a.threads)
        twin = build_model(torch, _torch_layers(), len(chars), a)
        copy_weights(trainers[0].model, twin)
        trainers.append(Trainer("torch", twin, a))
    n_params = sum(p.numel() for p in trainers[0].model.parameters())
    print(f"model {a.model}: {n_params:,} parameters; batch {a.batch_size} x {T}, Adam lr "
          f"{a.lr}, clip {a.clip}, {a.steps} steps, {a.threads} thread(s)")

    rng = np.random.default_rng(a.seed)
    for step in range(1, a.steps + 1):
        starts = rng.integers(0, len(train) - T - 1, a.batch_size)
        w = np.stack([train[s:s + T + 1] for s in starts])
        losses = [tr.step(w[:, :-1], w[:, 1:]) for tr in trainers]
        if step % a.eval_every == 0 or step == a.steps:
            msg = "  ".join(f"{tr.fw}: train {lo:.3f} val {tr.evaluate(val_windows):.3f} "
                            f"({1e3 * np.median(tr.times[-a.eval_every:]):.0f} ms/step)"
                            for tr, lo in zip(trainers, losses))
            print(f"step {step:5d}  {msg}", flush=True)

    print("\nfinal validation loss (nats/char):")
    for tr in trainers:
        print(f"  {tr.fw:10s} {tr.evaluate(val_windows):.4f}   median "
              f"{1e3 * np.median(tr.times):.1f} ms/step")
    prompt = np.array([stoi[c] for c in a.prompt if c in stoi], np.int64)
    for tr in trainers:
        text_out = "".join(chars[i] for i in tr.sample(prompt, a.sample_chars,
                                                        np.random.default_rng(a.seed)))
        print(f"\n--- sample ({tr.fw}) ---\n{text_out}")


if __name__ == "__main__":
    main(ARGS)
    sys.stdout.flush()
