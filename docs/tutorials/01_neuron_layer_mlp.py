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
# # 1. A neuron, a layer, an MLP
#
# A neural network is built from one small piece repeated: the **neuron**. It weighs its
# inputs, adds a bias and passes the sum through a nonlinearity. Put several neurons side by
# side and you have a **layer**; stack layers and you have a **multi-layer perceptron** (MLP).
#
# This tutorial builds all three in plain NumPy, trains the smallest network that solves XOR
# (the notes' 2-2-1 network) with gradients worked out by hand, and then does the same in
# chainrule, where `backward()` works out the gradients for us.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
from chainrule import nn, optim

# %% [markdown]
# ## A neuron
#
# A neuron with weights $w \in \mathbb{R}^n$ and bias $b$ maps an input $x \in \mathbb{R}^n$
# to
#
# $$ a = \sigma(z), \qquad z = w^\top x + b, \qquad \sigma(z) = \frac{1}{1 + e^{-z}}. $$
#
# $z$ is the *pre-activation*, $a$ the *activation*. The sigmoid squashes $z$ into $(0, 1)$,
# so $a$ can be read as "how much the neuron fires". Since $\sigma(z) > 0.5$ exactly when
# $z > 0$, a single neuron splits its input space with the straight line (hyperplane)
# $w^\top x + b = 0$.

# %%
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def neuron(x, w, b):
    return sigmoid(x @ w + b)


X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
w_or, b_or = np.array([20.0, 20.0]), -10.0      # fires if x1 OR x2
w_and, b_and = np.array([20.0, 20.0]), -30.0    # fires if x1 AND x2
print("OR :", neuron(X, w_or, b_or).round(3))
print("AND:", neuron(X, w_and, b_and).round(3))

# %% [markdown]
# With hand-picked weights one neuron computes OR or AND. It cannot compute XOR (1 when
# exactly one input is 1): the two "1" corners of the square lie on a diagonal, and no single
# line separates them from the other two. The picture shows the lines of the OR and AND
# neurons.

# %%
y_xor = np.array([0.0, 1.0, 1.0, 0.0])
grid = np.linspace(-0.5, 1.5, 200)
gx, gy = np.meshgrid(grid, grid)
G = np.stack([gx.ravel(), gy.ravel()], axis=1)

fig, axes = plt.subplots(1, 2, figsize=(8, 3.5))
for ax, (name, w, b) in zip(axes, [("OR", w_or, b_or), ("AND", w_and, b_and)]):
    ax.contourf(gx, gy, neuron(G, w, b).reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y_xor, cmap="RdBu_r", edgecolors="k", s=80)
    ax.set_title(f"one neuron: {name}  (points coloured by XOR)")
fig.tight_layout()

# %% [markdown]
# ## A layer
#
# A layer is $m$ neurons reading the same input. Stack their weight vectors as the rows of a
# matrix $W \in \mathbb{R}^{m \times n}$ and their biases into $b \in \mathbb{R}^m$:
#
# $$ a = \sigma(W x + b). $$
#
# For a whole batch of inputs, stored as the rows of $X \in \mathbb{R}^{N \times n}$, this is
# one matrix product: $A = \sigma(X W^\top + b)$, with $b$ broadcast over the rows. This is
# exactly what `nn.Linear(n, m)` computes (it stores `weight` with shape `(m, n)`).

# %%
def layer(X, W, b):
    return sigmoid(X @ W.T + b)


W1 = np.stack([w_or, -w_and])          # an OR neuron and a NAND neuron
b1 = np.array([b_or, -b_and])
H = layer(X, W1, b1)
print("hidden layer (OR, NAND):\n", H.round(3))

# %% [markdown]
# ## An MLP: XOR with two hidden units
#
# XOR is "OR and not AND". A second layer with one neuron can AND the two hidden units, so a
# 2-2-1 network solves XOR — with these weights by construction:

# %%
W2, b2 = np.array([[20.0, 20.0]]), np.array([-30.0])
print("2-2-1 network, hand-set weights:", layer(H, W2, b2).ravel().round(3))

# %% [markdown]
# ## Learning the weights: backpropagation by hand
#
# Now we forget the hand-set weights and learn them from the four examples by gradient
# descent on the squared error $L = \frac{1}{N}\sum_i (\hat y_i - y_i)^2$. The forward pass is
#
# $$ Z_1 = X W_1^\top + b_1,\quad H = \sigma(Z_1),\quad Z_2 = H W_2^\top + b_2,\quad
#    \hat y = \sigma(Z_2). $$
#
# The chain rule, applied from the loss backwards, gives each gradient from the one after
# it; $\sigma'(z) = \sigma(z)(1 - \sigma(z))$:
#
# $$
# \begin{aligned}
# \delta_2 &= \tfrac{2}{N}(\hat y - y)\odot \hat y(1-\hat y), &
# \partial L/\partial W_2 &= \delta_2^\top H, &
# \partial L/\partial b_2 &= \textstyle\sum_i \delta_2,\\
# \delta_1 &= (\delta_2 W_2)\odot H(1-H), &
# \partial L/\partial W_1 &= \delta_1^\top X, &
# \partial L/\partial b_1 &= \textstyle\sum_i \delta_1.
# \end{aligned}
# $$

# %%
def forward_backward(params, X, y):
    W1, b1, W2, b2 = params
    H = sigmoid(X @ W1.T + b1)
    y_hat = sigmoid(H @ W2.T + b2)
    loss = np.mean((y_hat - y) ** 2)
    d2 = 2 / len(X) * (y_hat - y) * y_hat * (1 - y_hat)
    d1 = (d2 @ W2) * H * (1 - H)
    grads = [d1.T @ X, d1.sum(0), d2.T @ H, d2.sum(0)]
    return loss, grads


rng = np.random.default_rng(0)
init = [rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, 2),
        rng.uniform(-1, 1, (1, 2)), rng.uniform(-1, 1, 1)]
y = y_xor.reshape(-1, 1)

params = [p.copy() for p in init]
velocity = [np.zeros_like(p) for p in params]
numpy_losses = []
for _ in range(2000):
    loss, grads = forward_backward(params, X, y)
    numpy_losses.append(loss)
    for p, v, g in zip(params, velocity, grads):
        v *= 0.9                      # SGD with momentum 0.9, as optim.SGD below
        v += g
        p -= 2.0 * v
H = sigmoid(X @ params[0].T + params[1])
print("NumPy, learned:", sigmoid(H @ params[2].T + params[3]).ravel().round(3))

# %% [markdown]
# ## The same network in chainrule
#
# In chainrule the layer is `nn.Linear`, the nonlinearity `nn.Sigmoid`, and the network an
# `nn.Sequential` of them. We copy the NumPy starting weights into it so the two can be
# compared. The forward pass records a computation graph; `loss.backward()` walks it backwards
# and leaves $\partial L/\partial\theta$ in each parameter's `.grad` — the same numbers as our
# hand-derived formulas:

# %%
model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
with cr.no_grad():
    for p, value in zip(model.parameters(), init):
        p.copy_(cr.tensor(value, dtype=cr.float32))

x_t, y_t = cr.tensor(X, dtype=cr.float32), cr.tensor(y, dtype=cr.float32)
loss = nn.MSELoss()(model(x_t), y_t)
loss.backward()
_, hand_grads = forward_backward(init, X, y)
for (name, p), g in zip(model.named_parameters(), hand_grads):
    print(f"{name:9s} backward(): {p.grad.numpy().ravel().round(5)}   "
          f"by hand: {g.ravel().round(5)}")
    assert np.allclose(p.grad.numpy(), g, atol=1e-5)

# %% [markdown]
# Training is the loop every chainrule (and PyTorch) program has: clear the old gradients,
# run the model, compute the loss, `backward()`, and let the optimizer take a step.

# %%
opt = optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
loss_fn = nn.MSELoss()
chainrule_losses = []
for _ in range(2000):
    opt.zero_grad()
    loss = loss_fn(model(x_t), y_t)
    loss.backward()
    opt.step()
    chainrule_losses.append(loss.item())

with cr.no_grad():
    out = model(x_t).numpy().ravel()
print("chainrule XOR outputs:", out.round(3))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].semilogy(numpy_losses, label="NumPy by hand")
axes[0].semilogy(chainrule_losses, "--", label="chainrule")
axes[0].set(xlabel="step", ylabel="MSE", title="training loss")
axes[0].legend()
with cr.no_grad():
    surface = model(cr.tensor(G, dtype=cr.float32)).numpy().reshape(gx.shape)
axes[1].contourf(gx, gy, surface, levels=20, cmap="RdBu_r", alpha=0.6)
axes[1].scatter(X[:, 0], X[:, 1], c=y_xor, cmap="RdBu_r", edgecolors="k", s=80)
axes[1].set_title("the trained 2-2-1 network")
fig.tight_layout()

# %% [markdown]
# The two curves lie on top of each other: chainrule computes the same gradients we derived,
# and the same optimizer update. The hidden layer bends the input space so that the output
# neuron can separate XOR with a line.
#
# **Try it:** train from other seeds (`rng = np.random.default_rng(1)`, …). Sometimes the
# 2-2-1 network gets stuck with one output near 0.5 — a local minimum. Do three or four hidden
# units help?
