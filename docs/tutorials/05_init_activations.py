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
# # 5. Initialisation and activations
#
# Before training starts, a deep network's weights are random. How random matters: every
# layer multiplies its input by a weight matrix, so a scale slightly too large or too small,
# repeated over ten layers, makes activations (and, going back, gradients) explode or vanish.
# Good initialisation keeps the variance of the signal roughly constant from layer to layer.
#
# We look at per-layer activation statistics of a 10-layer network on real MNIST digits
# under several initialisations, and then at a failure of ReLU networks: dead units.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

(x_train, y_train), _ = cr.datasets.load_subset()     # 2,000 MNIST digits shipped with chainrule
x = cr.tensor(x_train[:256].reshape(256, -1) / 255.0, dtype=cr.float32)
x = (x - x.mean()) / x.std()
y = cr.tensor(y_train[:256].astype(np.int64))
print("input:", tuple(x.shape), f"mean {x.mean().item():.2f}, std {x.std().item():.2f}")

# %% [markdown]
# ## Why the scale matters
#
# For a layer $z = W a$ with $n_{in}$ inputs, independent zero-mean weights of variance
# $\sigma_w^2$ and inputs of variance $\mathrm{Var}(a)$:
#
# $$ \mathrm{Var}(z) = n_{in}\,\sigma_w^2\,\mathrm{Var}(a). $$
#
# To keep the variance fixed we need $\sigma_w^2 = 1/n_{in}$. For tanh, which is linear near
# 0, **Glorot (Xavier)** initialisation takes $\sigma_w^2 = 2/(n_{in} + n_{out})$, a compromise
# between the forward and the backward pass. ReLU zeros half of its inputs, halving the
# variance, so **He (Kaiming)** initialisation doubles it: $\sigma_w^2 = 2/n_{in}$.
# **Orthogonal** initialisation uses a random orthogonal matrix (times a gain), which
# preserves the norm of every vector exactly.
#
# `cr.nn.init` has all of them, with PyTorch's names:

# %%
def deep_net(activation, init, depth=10, width=128):
    layers = []
    n_in = 784
    for _ in range(depth):
        linear = nn.Linear(n_in, width)
        init(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
        n_in = width
    return nn.Sequential(*layers, nn.Linear(width, 10))


def activation_stats(model, x):
    """Mean, standard deviation and all values of each hidden layer's output."""
    stats = []
    h = x
    with cr.no_grad():
        for module in model:
            h = module(h)
            if not isinstance(module, nn.Linear):
                stats.append(h.numpy())
    return stats


schemes = {
    "naive N(0, 1)": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "naive N(0, 0.01²)": lambda w: nn.init.normal_(w, 0.0, 0.01),
    "Glorot (xavier_normal_)": nn.init.xavier_normal_,
    "He (kaiming_normal_)": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal (gain √2)": lambda w: nn.init.orthogonal_(w, gain=2 ** 0.5),
}

# %% [markdown]
# ## tanh networks
#
# With weights of standard deviation 1, each tanh unit's input has variance in the hundreds:
# the units saturate at ±1, where tanh's derivative is 0. With 0.01 the signal shrinks by a
# factor of about 6 per layer and is gone after a few layers. Glorot keeps it alive.

# %%
cr.manual_seed(0)
fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
for ax, name in zip(axes, ["naive N(0, 1)", "naive N(0, 0.01²)", "Glorot (xavier_normal_)"]):
    stats = activation_stats(deep_net(nn.Tanh, schemes[name]), x)
    for i in (0, 3, 6, 9):
        ax.hist(stats[i].ravel(), bins=60, histtype="step", density=True, label=f"layer {i + 1}")
    ax.set_title(f"tanh, {name}", fontsize=10)
    ax.legend(fontsize=7)
    axes[3].semilogy(range(1, 11), [s.std() for s in stats], "o-", label=name)
axes[3].set(xlabel="layer", ylabel="std of activations", title="tanh: std per layer")
axes[3].legend(fontsize=7)
fig.tight_layout()

# %% [markdown]
# ## ReLU networks
#
# ReLU is not symmetric, so Glorot's variance is half of what it needs: the signal decays by
# $\sqrt 2$ per layer. He initialisation, and orthogonal matrices with gain $\sqrt 2$, keep
# it steady. Next to the activations we look at the gradients that reach each layer's weights
# after one backward pass of the cross-entropy loss: where activations vanish, so do they.

# %%
relu_std, relu_grad = {}, {}
for name in ["naive N(0, 0.01²)", "Glorot (xavier_normal_)", "He (kaiming_normal_)",
             "orthogonal (gain √2)"]:
    cr.manual_seed(0)
    model = deep_net(nn.ReLU, schemes[name])
    relu_std[name] = [s.std() for s in activation_stats(model, x)]
    F.cross_entropy(model(x), y).backward()
    relu_grad[name] = [m.weight.grad.std().item() for m in model if isinstance(m, nn.Linear)]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for name in relu_std:
    axes[0].semilogy(range(1, 11), relu_std[name], "o-", label=name)
    axes[1].semilogy(range(1, 12), relu_grad[name], "o-", label=name)
axes[0].set(xlabel="layer", ylabel="std of activations", title="ReLU: std per layer")
axes[1].set(xlabel="layer", ylabel="std of weight gradient", title="ReLU: gradients")
axes[0].legend(fontsize=7)
fig.tight_layout()
for name, s in relu_std.items():
    print(f"ReLU, {name:24s} activation std: layer 1 {s[0]:.3g}, layer 10 {s[-1]:.3g}")

# %% [markdown]
# ## Does it matter for training?
#
# We train the ten-layer ReLU network for 40 steps of plain SGD with momentum on the 256
# digits, from each initialisation. SGD's step is proportional to the gradient, so where the
# gradients have vanished, nothing happens.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
final_loss = {}
for name in relu_std:
    cr.manual_seed(0)
    model = deep_net(nn.ReLU, schemes[name])
    opt = optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    curve = []
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        curve.append(loss.item())
    final_loss[name] = curve[-1]
    ax.plot(curve, label=name)
ax.set(xlabel="step", ylabel="training loss", title="10-layer ReLU net, SGD + momentum")
ax.legend(fontsize=8)
fig.tight_layout()
for name, value in final_loss.items():
    print(f"{name:24s} loss after 40 steps: {value:.3f}")

# %% [markdown]
# ## Dead ReLUs
#
# A ReLU unit whose pre-activation is negative for *every* input outputs 0 and passes back
# a zero gradient: nothing will ever change its incoming weights again. It is dead. A large
# update can push many units there at once — typically a learning rate that is too high.
# We count the units that are zero on all 256 inputs, before and after 20 steps of Adam with
# its usual learning rate (1e-3) and with a far too large one (0.1); LeakyReLU, which lets a
# small gradient through for negative inputs, cannot die this way.

# %%
def inactive_fraction(model, x):
    """The fraction of hidden units whose pre-activation is negative for every input."""
    fractions, h = [], x
    with cr.no_grad():
        for module in list(model)[:-1]:
            h = module(h)
            if isinstance(module, nn.Linear):
                fractions.append((h.numpy() <= 0).all(axis=0).mean())
    return float(np.mean(fractions))


def train_adam(model, lr, steps=20):
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


he = schemes["He (kaiming_normal_)"]
rows = []
for act, lr in [(nn.ReLU, 1e-3), (nn.ReLU, 0.1), (nn.LeakyReLU, 0.1)]:
    cr.manual_seed(0)
    model = deep_net(act, he, depth=4)
    before = inactive_fraction(model, x)
    train_adam(model, lr)
    after = inactive_fraction(model, x)
    loss = train_adam(model, 1e-3, steps=30)        # then 30 careful steps: who recovers?
    rows.append((f"{act.__name__}\nlr {lr}", before, after, inactive_fraction(model, x)))
    print(f"{act.__name__:9s} lr {lr:<5} units negative on every input: before {before:.1%}, "
          f"after 20 steps {after:.1%}, after 30 more at lr 1e-3 {rows[-1][3]:.1%} "
          f"(loss {loss:.3f})")

fig, ax = plt.subplots(figsize=(6, 3.2))
for i, (label, phase) in enumerate([("at init", 1), ("after 20 steps", 2),
                                    ("after 30 more at lr 1e-3", 3)]):
    ax.bar(np.arange(3) + 0.27 * (i - 1), [r[phase] for r in rows], width=0.27, label=label)
ax.set_xticks(np.arange(3), [r[0] for r in rows])
ax.set(ylabel="fraction of units negative\non every input")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# With the large learning rate most ReLU units die within 20 steps: they are negative on
# every input, receive no gradient, and stay dead when the learning rate goes back to
# normal. The same step pushes the LeakyReLU units negative too; they still pass 1 % of the
# gradient, so they *can* come back, but slowly — here only a few percent have after 30
# steps. An activation with a negative slope softens the failure; the cure is a sensible
# learning rate (and a warm-up, tutorial 4).
#
# **Try it:** replace `nn.ReLU` by `nn.GELU` or `nn.SiLU` in the ReLU experiments and compare
# the activation statistics.
