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
# # 10. Beyond: graphs, multiplicative interactions, function transforms, debugging
#
# Four topics that go past the standard layer stack: networks on **graphs** (message
# passing), layers where one input **multiplies** another, **function transforms** that
# compute per-example gradients and Hessians, and the **debugging recipe** of the notes for
# when training does not work.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.func
import chainrule.nn.functional as F
import chainrule.nn.utils
from chainrule import nn, optim
from chainrule.nn.modules.graph import GraphConv, aggregate

# %% [markdown]
# ## Graph networks: message passing
#
# Molecules, social networks and road maps are graphs: nodes with features, joined by edges.
# A graph has no fixed size and no order of its nodes, so a layer must treat every node the
# same way and combine its neighbours with an order-invariant operation. **Message passing**
# does this: each node gathers its neighbours' states (sum, mean or max) and combines them
# with its own,
#
# $$ h_v' = \mathrm{ReLU}\Big(W_1 h_v + W_2 \,\mathrm{mean}_{u \in N(v)} h_u\Big). $$
#
# Edges are stored as an `edge_index` of shape (2, E): column $k$ is an edge from node
# `edge_index[0, k]` to node `edge_index[1, k]`. On a path 0 – 1 – 2 – 3:

# %%
edge_index = cr.tensor([[0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2]])
h = cr.tensor([[1.0], [0.0], [0.0], [10.0]])
print("mean of neighbours:", aggregate(h, edge_index, "mean").numpy().ravel())
print("sum of neighbours :", aggregate(h, edge_index, "sum").numpy().ravel())

# %% [markdown]
# Each layer spreads information one hop further. We classify the nodes of a generated graph
# with three communities (a *stochastic block model*: edges are ten times as likely inside a
# community as across). Each node's features are its community's code buried in noise, and
# only 10 % of the labels are known. An MLP sees one node's features at a time; a two-layer
# `GraphConv` network also averages over neighbours, which are mostly of the same community.

# %%
rng = np.random.default_rng(0)
n_nodes, n_classes = 400, 3
labels = rng.integers(0, n_classes, n_nodes)
same = labels[:, None] == labels[None, :]
upper = np.triu(rng.random((n_nodes, n_nodes)) < np.where(same, 0.05, 0.005), 1)
src, dst = np.nonzero(upper)
edges = cr.tensor(np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])]))
features = cr.tensor(np.eye(n_classes)[labels] + 1.5 * rng.standard_normal((n_nodes, n_classes)),
                     dtype=cr.float32)
y = cr.tensor(labels)
perm = rng.permutation(n_nodes)
train_idx, test_idx = perm[:40], perm[40:]
print(f"{n_nodes} nodes, {len(src)} edges, {len(train_idx)} labelled")


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = GraphConv(n_classes, 16, aggr="mean")
        self.conv2 = GraphConv(16, n_classes, aggr="mean")

    def forward(self, x, edge_index):
        return self.conv2(F.relu(self.conv1(x, edge_index)), edge_index)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_classes, 16), nn.ReLU(), nn.Linear(16, n_classes))

    def forward(self, x, edge_index):
        return self.net(x)


graph_acc = {}
for name, cls in (("GraphConv", GCN), ("MLP", MLP)):
    cr.manual_seed(0)
    model = cls()
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(150):
        opt.zero_grad()
        F.cross_entropy(model(features, edges)[train_idx], y[train_idx]).backward()
        opt.step()
    with cr.no_grad():
        pred = model(features, edges).argmax(1).numpy()
    graph_acc[name] = float((pred[test_idx] == labels[test_idx]).mean())
    print(f"{name:9s} accuracy on the unlabelled nodes: {graph_acc[name]:.3f}")

# %% [markdown]
# ## Multiplicative interactions
#
# A linear layer adds up its inputs. When one input is *context* that should change how the
# other is processed — a task id, a question, a time of day — adding is a poor fit.
# The notes' **multiplicative interaction** layer
#
# $$ f(x, z) = x^\top W z + z^\top U + V x + b $$
#
# lets $z$ choose the weight matrix $W z$ applied to $x$ (a gate or hyper-network); with
# $W = 0$ it is an ordinary linear layer of $[x, z]$. `nn.MultiplicativeInteraction(p, q, m)`
# implements it. A task that needs it: the context $z$ (one of four one-hot codes) says which
# of four different linear maps to apply to $x$.

# %%
gen = np.random.default_rng(1)
maps = gen.standard_normal((4, 8, 2))                       # four maps R^8 -> R^2
xs = gen.standard_normal((512, 8))
context = gen.integers(0, 4, 512)
targets = np.einsum("ni,nio->no", xs, maps[context])
x_t, z_t = cr.tensor(xs, dtype=cr.float32), cr.tensor(np.eye(4)[context], dtype=cr.float32)
t_t = cr.tensor(targets, dtype=cr.float32)


class Concat(nn.Module):                                    # the additive baseline
    def __init__(self, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, x, z):
        return self.net(cr.cat([x, z], dim=1))


mi_curves = {}
for name, make in (("concat MLP", Concat),
                   ("MultiplicativeInteraction", lambda: nn.MultiplicativeInteraction(8, 4, 2))):
    cr.manual_seed(0)
    model = make()
    opt = optim.Adam(model.parameters(), lr=0.01)
    curve = []
    for _ in range(300):
        opt.zero_grad()
        loss = F.mse_loss(model(x_t, z_t), t_t)
        loss.backward()
        opt.step()
        curve.append(loss.item())
    mi_curves[name] = curve
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{name:26s} {n_params:4d} parameters, final MSE {curve[-1]:.4f}")

fig, ax = plt.subplots(figsize=(5.5, 3.2))
for name, curve in mi_curves.items():
    ax.semilogy(curve, label=name)
ax.set(xlabel="step", ylabel="MSE", title="context selects a linear map")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# The multiplicative layer can represent the task exactly ($W z$ *is* the selected map), and
# with a fifth of the parameters it reaches a ten times smaller error than the additive
# network, which can only approximate the product of $x$ and $z$.
#
# ## Function transforms: per-sample gradients and Hessians
#
# `cr.func` (the API of `torch.func` and JAX) treats differentiation as an operation on
# functions: `grad(f)` is a new function that returns the gradient of `f`; `vmap(f)` maps
# `f` over a batch dimension. Composing them gives things `backward()` alone does not, such as
# the gradient of the loss of **each example separately** (for differential privacy, or
# to find the examples that disagree with the rest). `functional_call` runs a module with
# parameters passed in as arguments:

# %%
cr.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
params = {k: v.detach() for k, v in net.named_parameters()}
xb, yb = cr.randn(6, 4), cr.randn(6, 1)


def sample_loss(params, x, y):
    prediction = cr.func.functional_call(net, params, (x[None],))
    return F.mse_loss(prediction, y[None])


per_sample = cr.func.vmap(cr.func.grad(sample_loss), in_dims=(None, 0, 0))(params, xb, yb)
print({k: tuple(g.shape) for k, g in per_sample.items()})

# check against a loop of ordinary backward() calls, one example at a time
for i in range(6):
    net.zero_grad()
    F.mse_loss(net(xb[i:i + 1]), yb[i:i + 1]).backward()
    assert np.allclose(net[0].weight.grad.numpy(), per_sample["0.weight"][i].numpy(), atol=1e-6)
print("per-sample gradients match one backward() per example")

# %% [markdown]
# The **Hessian** — the matrix of second derivatives — describes the curvature of a loss.
# `cr.func.hessian` computes it forward-over-reverse; `hvp` gives a Hessian-vector product
# $Hv$ without forming $H$, which is what second-order methods need. For
# $f(w) = \sum_i \log(1 + e^{x_i \cdot w})$, $H = X^\top \mathrm{diag}(\sigma(1-\sigma)) X$:

# %%
X = cr.randn(20, 3, dtype=cr.float64)
w = cr.randn(3, dtype=cr.float64)


def f(w):
    return F.softplus(X @ w).sum()


H = cr.func.hessian(f)(w)
s = cr.sigmoid(X @ w)
H_exact = X.T @ ((s * (1 - s))[:, None] * X)
v = cr.randn(3, dtype=cr.float64)
_, Hv = cr.func.hvp(f, (w,), (v,))
print("Hessian:\n", H.numpy().round(4))
print("max |H - exact| =", float((H - H_exact).abs().max()),
      " max |hvp - H v| =", float((Hv - H @ v).abs().max()))

# %% [markdown]
# ## Debugging a network: the notes' recipe
#
# When training does not work, check the simplest things first:
#
# 1. **Overfit one small batch.** A correct model and training loop drive the loss on 20
#    examples to nearly zero. If they cannot, the bug is in the code, not in the data.
# 2. **Watch the loss, the gradient norm and the weight norms** as training runs: a loss
#    that goes up or to `nan`, gradients that vanish or explode, weights that blow up.
# 3. **Catch NaNs at their source** with anomaly detection, which names the operation that
#    produced the first `nan` or `inf`.

# %%
(x_img, y_img), _ = cr.datasets.load_subset()
xb = cr.tensor(x_img[:20].reshape(20, -1) / 255.0, dtype=cr.float32)
yb = cr.tensor(y_img[:20].astype(np.int64))
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
opt = optim.Adam(model.parameters(), lr=1e-3)
log = {"loss": [], "grad norm": [], "weight norm": []}
for _ in range(150):
    opt.zero_grad()
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    grad_norm = cr.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))  # measures only
    opt.step()
    log["loss"].append(loss.item())
    log["grad norm"].append(float(grad_norm))
    log["weight norm"].append(float(sum((p.detach() ** 2).sum() for p in model.parameters()))
                              ** 0.5)
print(f"one batch of 20: loss {log['loss'][0]:.3f} -> {log['loss'][-1]:.5f}")

fig, axes = plt.subplots(1, 3, figsize=(12, 3))
for ax, (name, values) in zip(axes, log.items()):
    ax.plot(values)
    ax.set(title=name, xlabel="step", yscale="log" if name != "weight norm" else "linear")
fig.tight_layout()

# %% [markdown]
# Now a classic NaN: the Euclidean distance $\sqrt{\sum (a - b)^2}$ is fine in the forward
# pass even when $a = b$, but the derivative of $\sqrt{u}$ at $u = 0$ is infinite, and
# $\infty \cdot 0$ in the chain rule makes the gradient `nan`. Nothing fails — the `nan`
# silently spreads into the weights at the next step:

# %%
a = cr.tensor([1.0, 2.0], requires_grad=True)
b = cr.tensor([1.0, 2.0])
distance = ((a - b) ** 2).sum().sqrt()
distance.backward()
print("distance", distance.item(), " gradient", a.grad.numpy())

# %% [markdown]
# Under `cr.autograd.detect_anomaly()` every op's forward output and every gradient of the
# backward pass is checked, and the first `nan` or `inf` raises an error that names the
# operation responsible (it is slow — use it to debug, not to train):

# %%
a.grad = None
try:
    with cr.autograd.detect_anomaly():
        ((a - b) ** 2).sum().sqrt().backward()
except RuntimeError as error:
    anomaly_message = str(error)
    print("caught:", anomaly_message.splitlines()[0])

# %% [markdown]
# The fix is to keep the square root away from zero, `(u + 1e-12).sqrt()`, or to use
# `cr.linalg.norm(a - b)`, whose gradient at zero is defined as 0 (as in PyTorch).
#
# **Try it:** break the one-batch experiment on purpose — a learning rate of 10, a missing
# `zero_grad()`, labels shuffled against the images — and see how each shows in the plots.
