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
# # 3. Losses and their gradients
#
# The loss turns a network's output into one number to minimise, and its gradient is where
# backpropagation starts. This tutorial looks at the common losses, their gradients, and why
# a classifier's loss should be computed from the **logits** (the raw scores) in one stable
# operation rather than as softmax followed by log.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F

# %% [markdown]
# ## Cross-entropy from logits
#
# A classifier outputs logits $z \in \mathbb{R}^K$; softmax turns them into probabilities
# $p_k = e^{z_k} / \sum_j e^{z_j}$, and the cross-entropy of the true class $y$ is
# $-\log p_y$. Simplifying the log of the softmax gives
#
# $$ \ell(z, y) = -z_y + \log \sum_j e^{z_j}, \qquad
#    \frac{\partial \ell}{\partial z_k} = p_k - [k = y]. $$
#
# The gradient is "predicted probability minus target": it pushes the true class's logit up
# and every other logit down, in proportion to how much probability it wrongly holds.
#
# ### Softmax, then log, overflows
#
# Computed literally, $e^{z}$ overflows float32 once $z > 88$, and $e^{z}/\sum e^{z_j}$ becomes
# `inf / inf = nan`:

# %%
z = np.array([1000.0, 0.0, -1000.0], dtype=np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    naive = np.exp(z) / np.exp(z).sum()
print("naive softmax:", naive)

# %% [markdown]
# Subtracting the largest logit first ($e^{z - \max z}$, the same probabilities) fixes the
# overflow, and `cr.softmax` does that. But probabilities of classes far behind still
# *underflow* to 0, and their log is $-\infty$: when the model is confidently wrong, the loss
# is infinite and the gradient is `nan`.

# %%
logits = cr.tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
target = cr.tensor([2])
p = cr.softmax(logits, dim=1)
loss_two_steps = -cr.log(p)[0, 2]
loss_two_steps.backward()
print("softmax:", p.detach().numpy(), " loss:", loss_two_steps.item(), " grad:",
      logits.grad.numpy())

# %% [markdown]
# `F.cross_entropy` computes $-z_y + \log\sum_j e^{z_j}$ as one fused op, using the
# log-sum-exp trick $\log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m}$ with $m = \max_j z_j$.
# Nothing overflows and nothing underflows: the loss is the finite 2000 it should be, and the
# gradient is $p - \text{onehot}(y)$.

# %%
logits.grad = None
loss = F.cross_entropy(logits, target)
loss.backward()
print("cross_entropy:", loss.item(), " grad:", logits.grad.numpy())

# %% [markdown]
# On ordinary logits the two computations agree, and the gradient is indeed
# $p - \text{onehot}(y)$, averaged over the batch:

# %%
cr.manual_seed(0)
z = cr.randn(5, 4, dtype=cr.float64, requires_grad=True)
y = cr.tensor([0, 3, 1, 1, 2])
F.cross_entropy(z, y).backward()
expected = (cr.softmax(z, dim=1) - F.one_hot(y, 4)).detach() / 5
print("max |grad - (p - onehot)/N| =", float((z.grad - expected).abs().max()))
two_step = -(cr.log(cr.softmax(z, dim=1)) * F.one_hot(y, 4)).sum(1).mean()
print("two-step loss", two_step.item(), "= fused", F.cross_entropy(z, y).item())

# %% [markdown]
# ## Binary targets: BCE with logits
#
# For a yes/no label $y \in \{0, 1\}$ the model gives one logit $z$ and
# $p = \sigma(z)$. The binary cross-entropy $-y \log p - (1-y)\log(1-p)$ has the same problem:
# $\sigma(40)$ rounds to exactly 1 in float32, and $\log(1 - 1) = -\infty$.
# `F.binary_cross_entropy_with_logits` computes $\max(z, 0) - z y + \log(1 + e^{-|z|})$,
# which is exact for any $z$, and its gradient is again $\sigma(z) - y$.

# %%
z = cr.tensor([40.0, -3.0, 0.5], requires_grad=True)
y = cr.tensor([0.0, 0.0, 1.0])
naive = F.binary_cross_entropy(cr.sigmoid(z), y, reduction="none")
stable = F.binary_cross_entropy_with_logits(z, y, reduction="none")
print("sigmoid, then BCE:", naive.detach().numpy())
print("BCE with logits  :", stable.detach().numpy())
stable.sum().backward()
print("gradient:", z.grad.numpy(), " sigmoid(z) - y:", (cr.sigmoid(z) - y).detach().numpy())

# %% [markdown]
# (chainrule's `binary_cross_entropy`, like PyTorch's, clamps the log at −100 so it returns 100
# rather than infinity; the true loss at $z = 40$ is 40.)
#
# ## Margin losses: the hinge
#
# Support vector machines use the hinge loss $\max(0, 1 - t z)$ with labels $t \in \{-1, +1\}$:
# a point classified correctly *with margin* ($t z \ge 1$) costs nothing and contributes no
# gradient. For $K$ classes, `F.multi_margin_loss` sums
# $\max(0, 1 - z_y + z_k)$ over the wrong classes $k$.

# %%
z = cr.tensor([[2.0, 1.5, -1.0], [3.0, 0.0, 0.5]], requires_grad=True)
y = cr.tensor([0, 0])
loss = F.multi_margin_loss(z, y)
loss.backward()
print("multi-margin loss:", round(loss.item(), 4))
print("gradient (row 2 is past the margin, so zero):\n", z.grad.numpy())

# %% [markdown]
# ## Regression: squared error
#
# For real targets, the squared error $\frac1N\sum_i (z_i - y_i)^2$ has gradient
# $\frac{2}{N}(z_i - y_i)$: it grows with the error, so outliers dominate. `F.l1_loss` and
# `F.huber_loss` grow only linearly for large errors.

# %%
z = cr.tensor([0.0, 1.0, 5.0], requires_grad=True)
y = cr.tensor([0.5, 1.0, 0.0])
F.mse_loss(z, y).backward()
print("MSE gradient:", z.grad.numpy(), " 2(z - y)/N:", (2 * (z - y) / 3).detach().numpy())

# %% [markdown]
# ## The losses side by side
#
# For a binary problem every loss above is a function of the margin $m = t z$ (how far on the
# right side of the boundary the score is). We let autograd compute each loss's derivative
# with respect to $z$ on a grid of margins and plot both. The logistic loss (BCE with logits)
# never stops pushing; the hinge stops at margin 1; the squared error even pushes correct,
# confident points *back* towards $m = 1$.

# %%
m = cr.linspace(-3, 4, 200, dtype=cr.float64, requires_grad=True)
losses = {
    "0-1 (not differentiable)": (m <= 0).double(),
    "logistic  log(1+e^-m)": F.binary_cross_entropy_with_logits(m, cr.ones_like(m),
                                                               reduction="none"),
    "hinge  max(0, 1-m)": F.relu(1 - m),
    "squared  (1-m)^2": (1 - m) ** 2,
}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for name, value in losses.items():
    axes[0].plot(m.detach().numpy(), value.detach().numpy(), label=name)
    if value.requires_grad:
        (dm,) = cr.autograd.grad(value.sum(), m)
        axes[1].plot(m.detach().numpy(), dm.numpy(), label=name)
axes[0].set(xlabel="margin t·z", ylabel="loss", ylim=(-0.2, 5), title="loss")
axes[1].set(xlabel="margin t·z", ylabel="d loss / d z", ylim=(-4, 1), title="gradient")
axes[0].legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# **Try it:** give `F.cross_entropy` a `label_smoothing=0.1` and look at the gradient of a
# confidently correct example: it no longer goes to zero.
