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
# # 4. Optimisation
#
# Training minimises the loss $L(\theta)$ by following its gradient downhill. How big a step,
# in which direction, and with how much memory of past steps is what distinguishes the
# optimizers in `cr.optim`. To *see* what they do, we use a problem with only two parameters,
# so that the loss is a surface we can draw: fitting a line $\hat y = w x + b$.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.nn.utils
from chainrule import optim

# %% [markdown]
# ## The problem and its loss surface
#
# 200 points with $y = 2x + 1 + \text{noise}$ and $x \in [0, 3]$. The mean squared error as a
# function of $(w, b)$ is a long, narrow valley: $w$ and $b$ trade off against each other
# (a steeper line with a lower intercept fits almost as well), so the surface is much steeper
# across the valley than along it — the situation that slows plain gradient descent.

# %%
rng = np.random.default_rng(0)
x_np = rng.uniform(0, 3, 200)
y_np = 2 * x_np + 1 + 0.3 * rng.standard_normal(200)
X, Y = cr.tensor(x_np), cr.tensor(y_np)          # float64


def loss_fn(theta, x=X, y=Y):
    return F.mse_loss(theta[0] * x + theta[1], y)


ws, bs = np.meshgrid(np.linspace(-1.5, 4, 120), np.linspace(-2.5, 5, 120))
surface = ((ws[..., None] * x_np + bs[..., None] - y_np) ** 2).mean(-1)
start = [-1.0, 4.0]


def contour(ax):
    ax.contour(ws, bs, np.log(surface), levels=25, cmap="viridis", linewidths=0.7)
    ax.plot(*start, "ko")
    ax.set(xlabel="w", ylabel="b")

# %% [markdown]
# ## Gradient descent vs minibatch SGD
#
# Full-batch gradient descent uses the exact gradient of the mean over all 200 points.
# **Minibatch SGD** estimates it from a random batch of 10: each step is 20× cheaper but noisy.
# In expectation the noisy gradient is the true one, so SGD still heads downhill — jittering
# around the path, and never quite settling at a constant learning rate.

# %%
def run(make_opt, steps=100, batch_size=None, seed=0):
    """The path of theta under an optimizer, from `start`, for `steps` steps."""
    theta = cr.tensor(start, dtype=cr.float64, requires_grad=True)
    opt = make_opt([theta])
    gen = np.random.default_rng(seed)
    path = [theta.detach().numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        if batch_size is None:
            loss = loss_fn(theta)
        else:
            idx = gen.choice(len(x_np), batch_size, replace=False)
            loss = loss_fn(theta, X[idx], Y[idx])
        loss.backward()
        opt.step()
        path.append(theta.detach().numpy().copy())
    return np.array(path)


gd = run(lambda p: optim.SGD(p, lr=0.1))
sgd = run(lambda p: optim.SGD(p, lr=0.1), batch_size=10)
fig, ax = plt.subplots(figsize=(5, 4))
contour(ax)
ax.plot(*gd.T, ".-", label="gradient descent (200 points)")
ax.plot(*sgd.T, ".-", alpha=0.7, label="minibatch SGD (10 points)")
ax.legend()
ax.set_title("100 steps, lr 0.1")
fig.tight_layout()

# %% [markdown]
# ## Eight optimizers on the same surface
#
# * **Momentum** keeps a velocity $v \leftarrow \mu v + g$ and steps $-\eta v$: oscillations
#   across the valley cancel, progress along it accumulates.
# * **Nesterov** momentum evaluates the gradient where the velocity is about to take us.
# * **AdaGrad** divides each coordinate's step by the root of its summed squared gradients:
#   steep directions get small steps — but the sum only grows, so steps shrink forever.
# * **RMSProp** uses a decaying average of squared gradients instead, so steps do not vanish.
# * **AdaDelta** also scales the step by a running average of past *updates*, so it needs
#   almost no learning rate.
# * **Adam** combines momentum (first moment) with RMSProp (second moment), with a bias
#   correction for the first steps; **NAdam** adds Nesterov's look-ahead to Adam.
#
# All start from the same point and take 100 full-batch steps:

# %%
optimizers = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "AdaGrad": lambda p: optim.Adagrad(p, lr=1.0),
    "RMSProp": lambda p: optim.RMSprop(p, lr=0.05),
    "AdaDelta": lambda p: optim.Adadelta(p, lr=1.0),
    "Adam": lambda p: optim.Adam(p, lr=0.2),
    "NAdam": lambda p: optim.NAdam(p, lr=0.2),
}
paths = {name: run(make) for name, make in optimizers.items()}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
contour(axes[0])
for name, path in paths.items():
    axes[0].plot(*path.T, ".-", ms=2, lw=1, label=name)
    losses = [loss_fn(cr.tensor(p)).item() for p in path]
    axes[1].semilogy(losses, label=name)
axes[0].set_title("trajectories")
axes[1].set(xlabel="step", ylabel="loss", title="loss")
axes[1].legend(fontsize=8, ncol=2)
fig.tight_layout()
w_best, b_best = np.polyfit(x_np, y_np, 1)        # least squares: the true minimum
print(f"minimum loss {loss_fn(cr.tensor([w_best, b_best])).item():.4f}")
for name, path in paths.items():
    print(f"{name:9s} final loss {loss_fn(cr.tensor(path[-1])).item():.4f}")

# %% [markdown]
# Plain SGD crawls along the valley floor; momentum and Nesterov overshoot, then run along
# it. The adaptive methods rescale each coordinate, so they head more directly towards the
# minimum. AdaDelta, with no learning rate to tune, starts very slowly. The best optimizer
# depends on the problem and on the learning rate: try changing them.
#
# ## Learning-rate schedules
#
# A constant learning rate is a compromise: large enough to make progress, small enough not
# to bounce. A **schedule** changes it during training — warm-up, steps, cosine decay,
# one-cycle. A scheduler wraps an optimizer; call `scheduler.step()` once per epoch (or per
# step, as you define).

# %%
def lrs(make_sched, epochs=100):
    opt = optim.SGD([cr.zeros(1, requires_grad=True)], lr=0.1)
    sched = make_sched(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


schedules = {
    "StepLR(30, 0.3)": lambda o: optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.3),
    "CosineAnnealingLR": lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=100),
    "warm-up + cosine": lambda o: optim.lr_scheduler.SequentialLR(
        o, [optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=10),
            optim.lr_scheduler.CosineAnnealingLR(o, T_max=90)], milestones=[10]),
    "OneCycleLR": lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=100),
}
fig, ax = plt.subplots(figsize=(6, 3.2))
for name, make in schedules.items():
    ax.plot(lrs(make), label=name)
ax.set(xlabel="epoch", ylabel="learning rate")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# Decay matters most with noisy gradients: minibatch SGD at a constant rate keeps jittering
# around the minimum, while a decaying rate averages the noise out.

# %%
def sgd_final_loss(schedule, steps=300):
    theta = cr.tensor(start, dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([theta], lr=0.1)
    sched = schedule(opt)
    gen = np.random.default_rng(1)
    for _ in range(steps):
        idx = gen.choice(len(x_np), 5, replace=False)
        opt.zero_grad()
        loss_fn(theta, X[idx], Y[idx]).backward()
        opt.step()
        sched.step()
    return loss_fn(theta).item()


constant = sgd_final_loss(lambda o: optim.lr_scheduler.LambdaLR(o, lambda e: 1.0))
cosine = sgd_final_loss(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=300))
print(f"minibatch SGD (batch 5), 300 steps: constant lr -> loss {constant:.5f}, "
      f"cosine decay -> loss {cosine:.5f}")

# %% [markdown]
# ## Exploding gradients and clipping
#
# The notes' one-neuron recurrence $h_t = w\,\sigma(h_{t-1}) + b$, run for 50 steps with the
# loss $(h_{50} - 0.7)^2$, shows how gradients explode in recurrent nets. For most $w$ the
# state settles to a fixed point and the gradient is small; near the $w$ where the fixed point
# jumps (a bifurcation), $h_{50}$ changes violently with $w$, and the gradient is enormous.

# %%
def recurrence_loss(w, b, steps=50):
    h = cr.tensor(0.5, dtype=cr.float64)
    for _ in range(steps):
        h = w * cr.sigmoid(h) + b
    return (h - 0.7) ** 2


def h_final(w, b=-2.5, steps=50):
    h = 0.5
    for _ in range(steps):
        h = w / (1 + np.exp(-h)) + b
    return h


lo, hi = 4.0, 6.0                      # bisect for the cliff: h_50 < 0 left of it, > 0 right
for _ in range(60):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if h_final(mid) < 0 else (lo, mid)
cliff = lo
near = cliff + np.concatenate([-np.logspace(-1, -8, 30), np.logspace(-8, -1, 30)])
w_grid = np.sort(np.concatenate([np.linspace(0, 10, 101), near]))
norms = []
for w0 in w_grid:
    w = cr.tensor(w0, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(-2.5, dtype=cr.float64, requires_grad=True)
    recurrence_loss(w, b).backward()
    norms.append(np.hypot(w.grad.item(), b.grad.item()))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(w_grid, [h_final(w) for w in w_grid], ".-", ms=3)
axes[0].set(xlabel="w (b = -2.5)", ylabel="$h_{50}$", title="final state")
axes[1].semilogy(w_grid, norms, ".-", ms=3)
axes[1].set(xlabel="w (b = -2.5)", ylabel="|gradient|", title="gradient norm")
fig.tight_layout()
print(f"the cliff is at w = {cliff:.6f}; gradient norm far from it ~{norms[0]:.3g}, "
      f"largest near it {max(norms):.3g}")

# %% [markdown]
# One gradient step from near the cliff can throw the parameters far away. **Gradient
# clipping** rescales the gradient when its norm exceeds a threshold — same direction, bounded
# length: `cr.nn.utils.clip_grad_norm_(params, max_norm)`, called between `backward()` and
# `step()`.

# %%
def descend(clip, steps=40, lr=0.02):
    w = cr.tensor(cliff - 1e-4, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(-2.5, dtype=cr.float64, requires_grad=True)
    opt = optim.SGD([w, b], lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = recurrence_loss(w, b)
        loss.backward()
        if clip:
            cr.nn.utils.clip_grad_norm_([w, b], max_norm=1.0)
        opt.step()
        losses.append(loss.item())
    return losses, (w.item(), b.item())


plain, wb_plain = descend(clip=False)
clipped, wb_clipped = descend(clip=True)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.semilogy(plain, "o-", label="no clipping")
ax.semilogy(clipped, "s-", label="clip_grad_norm_(max_norm=1)")
ax.set(xlabel="step", ylabel="loss", title=f"SGD from w = {cliff - 1e-4:.5f}, b = -2.5")
ax.legend()
fig.tight_layout()
print(f"no clipping: largest loss {max(plain):.3g}, ends at (w, b) = "
      f"({wb_plain[0]:.3g}, {wb_plain[1]:.3g}) with loss {plain[-1]:.3g}")
print(f"clipped    : largest loss {max(clipped):.3g}, ends at (w, b) = "
      f"({wb_clipped[0]:.3g}, {wb_clipped[1]:.3g}) with loss {clipped[-1]:.3g}")

# %% [markdown]
# Without clipping, the first step from next to the cliff multiplies the loss by a factor of
# about a million and throws $(w, b)$ far away, into a region the descent then has to crawl
# back from. With clipping every step has length at most $\eta \cdot 1$: the parameters
# bounce across the cliff for a while (the loss alternates between its two sides) but stay
# where the model makes sense, and settle.
