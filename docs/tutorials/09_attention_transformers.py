# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 9. Attention and Transformers
#
# A recurrent network passes information along the sequence one step at a time (tutorial 8).
# **Attention** lets every position look at every other position directly, in one step, and
# decide from the content how much to take from each. A **Transformer** is a stack of
# attention layers and small MLPs. We compute attention by hand, add masks, train a small GPT
# on Shakespeare's characters, and draw what its heads attend to.

# %%
import math
import urllib.request
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.nn.utils
from chainrule import nn, optim

# %% [markdown]
# ## Scaled dot-product attention
#
# Each position $i$ has a **query** $q_i$ (what it is looking for), a **key** $k_j$ (what it
# offers) and a **value** $v_j$ (what it passes on). Position $i$ scores every position $j$ by
# $q_i \cdot k_j$, turns the scores into weights with a softmax, and takes the weighted average
# of the values:
#
# $$ \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right) V. $$

# %%
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:                       # mask: True where attending is allowed
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = cr.softmax(scores, dim=-1)
    return weights @ v, weights


cr.manual_seed(0)
q, k, v = cr.randn(2, 5, 8), cr.randn(2, 5, 8), cr.randn(2, 5, 8)
out, weights = attention(q, k, v)
reference = F.scaled_dot_product_attention(q, k, v)
print("output", tuple(out.shape), " rows of weights sum to", weights.sum(-1)[0].numpy().round(4),
      " max difference to F.scaled_dot_product_attention",
      float((out - reference).abs().max()))

# %% [markdown]
# **Why divide by $\sqrt d$?** With independent unit-variance entries, $q \cdot k$ is a sum of
# $d$ products and has variance $d$. For large $d$ the scores spread out, the softmax puts
# nearly all weight on one position, and its gradient vanishes. Dividing by $\sqrt d$ brings
# the variance back to 1:

# %%
for d in (4, 64, 512):
    qd, kd = cr.randn(1000, d), cr.randn(1000, d)
    raw = (qd * kd).sum(-1)
    print(f"d = {d:3d}: std of q·k {raw.std().item():6.2f},  "
          f"std of q·k/√d {(raw / math.sqrt(d)).std().item():.2f}")

# %% [markdown]
# ## Masks
#
# A language model predicting the next character must not peek at the future: position $i$
# may only attend to positions $j \le i$. A **causal mask** sets the scores above the diagonal
# to $-\infty$ before the softmax, so their weights are exactly 0. A **padding mask** does the
# same for the padded ends of shorter sequences in a batch.
#
# (Mind the convention: in `F.scaled_dot_product_attention` a boolean mask is True where
# attention is *allowed*; in `nn.MultiheadAttention`, as in PyTorch, True means *blocked*.)

# %%
causal = cr.tril(cr.ones(5, 5)).bool()
padding = cr.tensor([[True, True, True, False, False]])       # the last two keys are padding
_, w_causal = attention(q[:1], k[:1], v[:1], mask=causal)
_, w_pad = attention(q[:1], k[:1], v[:1], mask=padding)
same = F.scaled_dot_product_attention(q[:1], k[:1], v[:1], is_causal=True)
print("causal mask agrees with is_causal=True:",
      bool(cr.allclose(attention(q[:1], k[:1], v[:1], mask=causal)[0], same, atol=1e-6)))

fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
for ax, w, title in zip(axes, [weights[0], w_causal[0], w_pad[0]],
                        ["no mask", "causal mask", "padding mask"]):
    ax.imshow(w.detach().numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set(title=title, xlabel="key position j", ylabel="query position i")
fig.tight_layout()

# %% [markdown]
# ## A small GPT on characters
#
# A GPT is a stack of decoder blocks over token and position embeddings. Each block lets the
# positions exchange information (multi-head causal self-attention: several attention
# "heads" in parallel, each on its own slice of the features) and then processes each
# position on its own (an MLP), each inside a residual connection with a LayerNorm in front:
#
# $$ x \leftarrow x + \mathrm{Attention}(\mathrm{LN}(x)), \qquad
#    x \leftarrow x + \mathrm{MLP}(\mathrm{LN}(x)). $$
#
# The attention below is the function above with the heads split out; it keeps its weights
# so that we can draw them afterwards.

# %%
class CausalSelfAttention(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        # (B, T, C) -> (B, heads, T, C / heads)
        q, k, v = (t.reshape(B, T, self.n_heads, C // self.n_heads).transpose(1, 2)
                   for t in (q, k, v))
        out, self.weights = attention(q, k, v, mask=cr.tril(cr.ones(T, T)).bool())
        return self.proj(out.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, d_model, n_heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(),
                                 nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, block_size, d_model=64, n_heads=4, n_layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(block_size, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, n_heads) for _ in range(n_layers)])
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(cr.arange(T))
        return self.head(self.ln(self.blocks(x)))

# %% [markdown]
# The data are the first 100,000 characters of tinyshakespeare, as in tutorial 8.

# %%
# next to the notebook, or from the repository's root (where the documentation is built)
found = [p for p in (Path("data"), Path("docs/tutorials/data"))
         if (p / "tinyshakespeare_100k.txt").exists()]
if found:
    text = (found[0] / "tinyshakespeare_100k.txt").read_text()
else:
    url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
    text = urllib.request.urlopen(url).read().decode()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = np.array([stoi[c] for c in text], dtype=np.int64)
split = int(0.9 * len(data))
block_size = 32


def batch(source, gen, batch_size=32):
    starts = gen.integers(0, len(source) - block_size - 1, batch_size)
    x = np.stack([source[s:s + block_size] for s in starts])
    y = np.stack([source[s + 1:s + block_size + 1] for s in starts])
    return cr.tensor(x), cr.tensor(y)


cr.manual_seed(0)
gpt = GPT(len(chars), block_size)
print(f"GPT with {sum(p.numel() for p in gpt.parameters()):,} parameters")
opt = optim.AdamW(gpt.parameters(), lr=3e-3, weight_decay=0.01)
sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=300)
gen, val_gen = np.random.default_rng(0), np.random.default_rng(1)
x_val, y_val = batch(data[split:], val_gen, batch_size=128)
history = []
for step in range(1, 301):
    x, y = batch(data[:split], gen)
    loss = F.cross_entropy(gpt(x).reshape(-1, len(chars)), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    cr.nn.utils.clip_grad_norm_(gpt.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 50 == 0:
        with cr.no_grad():
            val = F.cross_entropy(gpt(x_val).reshape(-1, len(chars)), y_val.reshape(-1)).item()
        history.append((step, loss.item(), val))
        print(f"step {step}: train loss {loss.item():.3f}, validation loss {val:.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
steps, train_l, val_l = zip(*history)
ax.plot(steps, train_l, "o--", label="train batch")
ax.plot(steps, val_l, "o-", label="validation")
ax.set(xlabel="step", ylabel="nats/char")
ax.legend()
fig.tight_layout()

# %% [markdown]
# Generating text: feed the last `block_size` characters, sample the next one, repeat.

# %%
def generate(model, prompt, n=200, temperature=0.8):
    cr.manual_seed(0)
    idx = [stoi[c] for c in prompt]
    with cr.no_grad():
        for _ in range(n):
            logits = model(cr.tensor([idx[-block_size:]]))[0, -1]
            idx.append(cr.multinomial(cr.softmax(logits / temperature, dim=0), 1).item())
    return "".join(chars[i] for i in idx)


print(generate(gpt, "ROMEO:\n"))

# %% [markdown]
# ## Attention maps
#
# Running the model on a line of text fills each attention layer's `weights`
# (batch, head, query, key). Each panel shows one head: row $i$ is how position $i$ spreads
# its attention over the positions before it. After this short training some heads attend to
# the current character itself or to the one or two before it; others, in the second layer,
# fix on landmarks further back, such as the line break or the last space.

# %%
line = "First Citizen:\nBefore we proceed"
with cr.no_grad():
    gpt(cr.tensor([[stoi[c] for c in line]]))
labels = [repr(c)[1:-1] for c in line]
fig, axes = plt.subplots(2, 4, figsize=(14, 7))
for layer, row in enumerate(axes):
    for head, ax in enumerate(row):
        ax.imshow(gpt.blocks[layer].attn.weights[0, head].numpy(), cmap="Blues", vmin=0)
        ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
        ax.set_xticks(range(len(line)), labels, fontsize=6)
        ax.set_yticks(range(len(line)), labels, fontsize=6)
fig.tight_layout()

# %% [markdown]
# **Try it:** train longer (2,000 steps) and watch the maps sharpen; or remove the position
# embedding and see what the model can no longer learn (attention alone ignores order).
