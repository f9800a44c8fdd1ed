"""A GPT-style character model on tinyshakespeare, in PyTorch's idiom (after the well-known
small ``gpt.py``): trained with autocast + GradScaler, logged to TensorBoard, checkpointed with
``save``/``load`` and reloaded. Only the imports differ from the PyTorch program.

    python tests/programs/gpt_char.py --steps 200 --n-embd 64 --n-layer 4
"""

import argparse
import os
import tempfile

import chainrule as torch
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.utils.tensorboard import SummaryWriter


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default="/work/shared/data/tinyshakespeare/input.txt")
    p.add_argument("--chars", type=int, default=100_000, help="use the first N characters")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--eval-interval", type=int, default=50)
    p.add_argument("--eval-iters", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--block-size", type=int, default=32)
    p.add_argument("--n-embd", type=int, default=32)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-layer", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--logdir", default=None)
    p.add_argument("--seed", type=int, default=1337)
    return p.parse_args(argv)


class Head(nn.Module):
    """One head of causal self-attention."""

    def __init__(self, n_embd, head_size, block_size, dropout):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        wei = self.dropout(wei)
        return wei @ self.value(x)


class MultiHeadAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        size = n_embd // n_head
        self.heads = nn.ModuleList([Head(n_embd, size, block_size, dropout)
                                    for _ in range(n_head)])
        self.proj = nn.Linear(n_embd, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class FeedForward(nn.Module):
    def __init__(self, n_embd, dropout):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(),
                                 nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size, dropout):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, block_size, dropout)
        self.ffwd = FeedForward(n_embd, dropout)
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size, dropout):
        super().__init__()
        self.block_size = block_size
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size, dropout)
                                      for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        tok_emb = self.token_embedding_table(idx)
        pos_emb = self.position_embedding_table(torch.arange(T))
        x = self.blocks(tok_emb + pos_emb)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            probs = F.softmax(logits[:, -1, :].float(), dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


def main(argv=None):
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    with open(args.data, encoding="utf-8") as f:
        text = f.read()[: args.chars]
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = dict(enumerate(chars))
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    splits = {"train": data[:n], "val": data[n:]}

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - args.block_size, (args.batch_size,))
        x = torch.stack([d[i:i + args.block_size] for i in ix])
        y = torch.stack([d[i + 1:i + args.block_size + 1] for i in ix])
        return x, y

    model = GPTLanguageModel(len(chars), args.n_embd, args.n_head, args.n_layer,
                             args.block_size, args.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)
    scaler = torch.amp.GradScaler("cpu")
    logdir = args.logdir or tempfile.mkdtemp()
    writer = SummaryWriter(os.path.join(logdir, "gpt"))

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ("train", "val"):
            losses = torch.zeros(args.eval_iters)
            for k in range(args.eval_iters):
                X, Y = get_batch(split)
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    history = []
    first = estimate_loss()
    writer.add_scalars("loss", first, 0)
    for step in range(1, args.steps + 1):
        xb, yb = get_batch("train")
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            logits, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
        writer.add_scalar("train/step_loss", loss.item(), step)
        writer.add_scalar("amp/scale", scaler.get_scale(), step)
        if step % args.eval_interval == 0 or step == args.steps:
            losses = estimate_loss()
            history.append(losses)
            writer.add_scalars("loss", losses, step)
            print(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
    writer.add_histogram("lm_head/weight", model.lm_head.weight, args.steps)
    writer.close()

    path = os.path.join(logdir, "gpt.ckpt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(), "stoi": stoi}, path)
    ckpt = torch.load(path)
    reloaded = GPTLanguageModel(len(chars), args.n_embd, args.n_head, args.n_layer,
                                args.block_size, args.dropout)
    reloaded.load_state_dict(ckpt["model"])
    scaler2 = torch.amp.GradScaler("cpu")
    scaler2.load_state_dict(ckpt["scaler"])
    model.eval()
    reloaded.eval()
    xb, _ = get_batch("val")
    with torch.no_grad():
        same = torch.equal(model(xb)[0], reloaded(xb)[0])
    context = torch.zeros((1, 1), dtype=torch.long)
    sample = "".join(itos[i] for i in reloaded.generate(context, 40)[0].tolist())
    print(sample)
    return {"first": first, "history": history, "reloaded_equal": same,
            "scale": scaler2.get_scale(), "sample": sample, "logdir": logdir}


if __name__ == "__main__":
    main()
