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
# # 8. Sequences: RNN, LSTM, GRU
#
# Text, speech and time series come as sequences of varying length. A **recurrent network**
# reads them one element at a time, carrying a hidden state $h_t$ — a summary of everything
# seen so far — from step to step, with the same weights at every step. We train three
# recurrent networks to predict the next character of Shakespeare, and then measure why the
# plain RNN struggles with long-range dependencies: its gradients vanish across time steps.

# %%
import urllib.request
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.nn.utils
from chainrule import nn, optim

# %% [markdown]
# ## The data
#
# `data/tinyshakespeare_100k.txt`, next to this notebook, holds the first 100,000 characters of
# *tinyshakespeare* (Karpathy's char-rnn corpus of Shakespeare's plays, public domain). If you
# downloaded the notebook alone, the cell fetches the full corpus instead.

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
train_data, val_data = data[:split], data[split:]
print(f"{len(text):,} characters, vocabulary of {len(chars)}")
print(text[:200])

# %% [markdown]
# ## One recurrent step
#
# The simple (Elman) RNN updates its state with
#
# $$ h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}). $$
#
# `nn.RNN` runs this over a whole sequence; we check the first steps by hand.

# %%
cr.manual_seed(0)
rnn = nn.RNN(input_size=3, hidden_size=4, batch_first=True)
xs = cr.randn(1, 5, 3)                      # (batch, time, features)
out, h_last = rnn(xs)
h = cr.zeros(4)
with cr.no_grad():
    for t in range(5):
        h = cr.tanh(rnn.weight_ih_l0 @ xs[0, t] + rnn.bias_ih_l0 + rnn.weight_hh_l0 @ h
                    + rnn.bias_hh_l0)
print("nn.RNN output shape", tuple(out.shape), " last state by hand equals nn.RNN's:",
      np.allclose(h.numpy(), h_last.detach().numpy()[0, 0], atol=1e-6))

# %% [markdown]
# ## LSTM and GRU
#
# The **LSTM** keeps a second state, the cell $c_t$, updated *additively* under the control
# of gates (sigmoids between 0 and 1):
#
# $$ c_t = f_t \odot c_{t-1} + i_t \odot \tanh(\ldots), \qquad h_t = o_t \odot \tanh(c_t). $$
#
# When the forget gate $f_t$ is near 1, the cell carries information — and gradient —
# unchanged across many steps. The **GRU** merges the gates into an update gate $z_t$ that
# interpolates $h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$, with fewer parameters.
#
# ## A character-level language model
#
# Each model embeds the characters, runs the recurrent layer, and predicts the next
# character from each hidden state; the loss is the cross-entropy over all positions.

# %%
class CharModel(nn.Module):
    def __init__(self, cell, vocab, embed=32, hidden=96):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = getattr(nn, cell)(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, idx, state=None):
        out, state = self.rnn(self.embed(idx), state)
        return self.head(out), state


def batch(source, gen, batch_size=32, seq_len=48):
    starts = gen.integers(0, len(source) - seq_len - 1, batch_size)
    x = np.stack([source[s:s + seq_len] for s in starts])
    y = np.stack([source[s + 1:s + seq_len + 1] for s in starts])
    return cr.tensor(x), cr.tensor(y)


def val_loss(model, gen):
    with cr.no_grad():
        x, y = batch(val_data, gen, batch_size=64)
        logits, _ = model(x)
        return F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1)).item()


curves, models = {}, {}
for cell in ("RNN", "LSTM", "GRU"):
    cr.manual_seed(0)
    gen = np.random.default_rng(0)
    model = CharModel(cell, len(chars))
    opt = optim.Adam(model.parameters(), lr=5e-3)
    curves[cell] = {"step": [], "train": [], "val": []}
    for step in range(1, 241):
        x, y = batch(train_data, gen)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        cr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 40 == 0:
            curves[cell]["step"].append(step)
            curves[cell]["train"].append(loss.item())
            curves[cell]["val"].append(val_loss(model, np.random.default_rng(1)))
    models[cell] = model
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cell:4s} ({n_params:,} parameters): validation loss {curves[cell]['val'][-1]:.3f} "
          f"nats/char")

fig, ax = plt.subplots(figsize=(6, 3.5))
for cell, c in curves.items():
    line, = ax.plot(c["step"], c["val"], "o-", label=f"{cell} validation")
    ax.plot(c["step"], c["train"], "--", color=line.get_color(), alpha=0.6)
ax.axhline(np.log(len(chars)), color="gray", lw=0.8, label="uniform guess")
ax.set(xlabel="step", ylabel="cross-entropy (nats/char)", title="dashed: training batches")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# After a few hundred steps every model has learned which characters are common, that words
# are separated by spaces and that lines start with capitals; with more steps (try 3,000)
# they learn words and the layout of a play. Sampling draws each next character from the
# predicted distribution and feeds it back in:

# %%
def sample(model, prompt, n=200, temperature=0.8):
    cr.manual_seed(0)
    idx = cr.tensor([[stoi[c] for c in prompt]])
    out, state = list(prompt), None
    with cr.no_grad():
        for _ in range(n):
            logits, state = model(idx, state)
            probs = cr.softmax(logits[0, -1] / temperature, dim=0)
            idx = cr.multinomial(probs, 1).reshape(1, 1)
            out.append(chars[idx.item()])
    return "".join(out)


print(sample(models["LSTM"], "ROMEO:\n"))

# %% [markdown]
# ## Vanishing gradients across time steps
#
# How much does the prediction at the last step $T$ depend on the input $t$ steps earlier?
# Backpropagation through time multiplies one Jacobian $\partial h_{s}/\partial h_{s-1}$ per
# step. For the tanh RNN that is $\mathrm{diag}(1 - h_s^2)\,W_{hh}$; when its norm is below 1,
# the product shrinks exponentially with the distance $T - t$. We measure it directly: we feed
# 100 characters, backpropagate from the last step's output, and read the norm of the
# gradient that reaches each input embedding.

# %%
def gradient_through_time(model, seq):
    emb = model.embed(seq).detach().requires_grad_(True)
    out, _ = model.rnn(emb)
    model.head(out[:, -1]).logsumexp(dim=1).sum().backward()
    return np.linalg.norm(emb.grad.numpy()[0], axis=1)      # one norm per time step


seq = cr.tensor(val_data[None, :100])
fig, ax = plt.subplots(figsize=(6, 3.5))
for cell, model in models.items():
    norms = gradient_through_time(model, seq)
    distance = np.arange(len(norms))[::-1]                  # T - t
    ax.semilogy(distance, norms, label=cell)
    print(f"{cell:4s} gradient norm at distance 1: {norms[-2]:.2e}, at distance 50: "
          f"{norms[-51]:.2e}, ratio {norms[-51] / norms[-2]:.1e}")
ax.set(xlabel="distance T - t (steps back)", ylabel="‖∂ output_T / ∂ x_t‖",
       title="gradient reaching earlier inputs (trained models)")
ax.legend()
fig.tight_layout()

# %% [markdown]
# Every curve falls exponentially with the distance — that is the vanishing gradient. The
# plain RNN's gradient is down by about thirteen orders of magnitude after 50 steps: nothing
# that far back can influence its learning. The LSTM's cell, updated additively, keeps it
# alive about a hundred million times better. The GRU, after this short training, forgets as
# fast as the RNN: its update gates have learned to overwrite the state quickly, because for
# guessing the next character the last few characters matter most. Gates give a network the
# *ability* to keep a long memory; it uses it only where the task rewards it. (The opposite
# problem, gradients that *explode* across time, is why we clipped the gradient norm during
# training — see tutorial 4.)
#
# **Try it:** train for longer and compare the samples of the three models; measure the
# gradient curves at initialisation instead of after training.
