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
# # 2. Computation graphs and the chain rule
#
# Every expression a program evaluates can be drawn as a **computation graph**: nodes are
# elementary operations, edges carry their values. The chain rule then says how to
# differentiate the whole expression: multiply the local derivatives of the operations along
# the paths from the input to the output, and sum over the paths. **Backpropagation** does this
# from the output backwards, reusing each intermediate result once.
#
# This tutorial takes the notes' worked example, draws its graph, backpropagates through it by
# hand, checks the result against chainrule's `backward()` and against finite differences
# (`gradcheck`), and finally measures when forward mode beats reverse mode.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.func

# %% [markdown]
# ## The worked example
#
# $$ f(x) = \frac{2}{\sin(e^{-x})} $$
#
# Written as a chain of elementary steps:
#
# $$ a = -x,\quad b = e^{a},\quad c = \sin b,\quad f = 2 / c. $$
#
# chainrule records exactly this graph while it computes $f$. `cr.viz.graph` draws it
# (in a notebook the cell shows the picture; the DOT text below is what Graphviz renders).

# %%
x = cr.tensor(0.5, dtype=cr.float64, requires_grad=True)
f = 2 / cr.sin(cr.exp(-x))
g = cr.viz.graph(f, show_grads=True, names={"x": x, "f": f})
print([op.name for op in g.ops])
g

# %% [markdown]
# ## Backpropagation by hand
#
# The forward pass computes and keeps every intermediate value. The backward pass starts from
# $\partial f/\partial f = 1$ and multiplies by one local derivative per node:
#
# $$
# \frac{\partial f}{\partial c} = -\frac{2}{c^2},\quad
# \frac{\partial f}{\partial b} = \frac{\partial f}{\partial c}\cos b,\quad
# \frac{\partial f}{\partial a} = \frac{\partial f}{\partial b}\, e^{a},\quad
# \frac{\partial f}{\partial x} = -\frac{\partial f}{\partial a}.
# $$

# %%
xv = 0.5
a = -xv
b = np.exp(a)
c = np.sin(b)
fv = 2 / c
df_dc = -2 / c**2
df_db = df_dc * np.cos(b)
df_da = df_db * np.exp(a)
df_dx = -df_da
print(f"forward : a={a:.4f}  b={b:.4f}  c={c:.4f}  f={fv:.6f}")
print(f"backward: df/dc={df_dc:.4f}  df/db={df_db:.4f}  df/da={df_da:.4f}  df/dx={df_dx:.6f}")

# %% [markdown]
# chainrule does the same walk when we call `backward()`; the gradient lands in `x.grad`:

# %%
f.backward()
print(f"f = {f.item():.6f}, x.grad = {x.grad.item():.6f}")
assert abs(x.grad.item() - df_dx) < 1e-12
g   # the drawing now shows x's gradient too

# %% [markdown]
# ## Checking a gradient: finite differences and `gradcheck`
#
# A derivative is a limit of difference quotients, so the central difference
# $\frac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon}$ (error $O(\varepsilon^2)$) is an
# independent check of any backward pass. Too large an $\varepsilon$ gives truncation error,
# too small one gives rounding error; the plot shows both, in float64.

# %%
def f_np(x):
    return 2 / np.sin(np.exp(-x))


epsilons = np.logspace(-12, -1, 45)
errors = [abs((f_np(xv + e) - f_np(xv - e)) / (2 * e) - df_dx) for e in epsilons]
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.loglog(epsilons, errors, "o-", ms=3)
ax.set(xlabel="ε", ylabel="|central difference − backward|",
       title="finite differences: truncation vs rounding")
fig.tight_layout()

# %% [markdown]
# `cr.autograd.gradcheck` does this for every input element of a function of tensors, in
# float64, and raises if the backward pass disagrees. It is how chainrule tests every op.

# %%
def fn(x, w):
    return (2 / cr.sin(cr.exp(-x @ w))).sum()


xs = cr.rand(4, 3, dtype=cr.float64, requires_grad=True)
ws = cr.rand(3, 2, dtype=cr.float64, requires_grad=True)
print("gradcheck passed:", cr.autograd.gradcheck(fn, (xs, ws)))

# %% [markdown]
# ## Forward mode vs reverse mode
#
# For $F: \mathbb{R}^n \to \mathbb{R}^m$ the Jacobian $J$ is $m \times n$. The chain rule
# multiplies the Jacobians of the steps, $J = J_K \cdots J_1$, and there are two orders:
#
# * **forward mode** (`cr.func.jvp`, `jacfwd`) carries a tangent alongside the values, one
#   pass per *input* direction: $J u$. A full Jacobian costs $n$ passes.
# * **reverse mode** (`backward()`, `vjp`, `jacrev`) records the graph and walks it back,
#   one pass per *output* direction: $v^\top J$. A full Jacobian costs $m$ passes.
#
# Both give the same Jacobian, of shape `output.shape + input.shape`:

# %%
A = cr.randn(3, 5, dtype=cr.float64)


def F(x):
    return cr.tanh(A @ x)


x0 = cr.randn(5, dtype=cr.float64)
J_fwd = cr.func.jacfwd(F)(x0)
J_rev = cr.func.jacrev(F)(x0)
print("Jacobian shape:", tuple(J_fwd.shape), " max |fwd - rev| =",
      float((J_fwd - J_rev).abs().max()))

# %% [markdown]
# Which is cheaper depends on the shape. A training loss maps millions of parameters to
# one number ($m = 1$): reverse mode gets the whole gradient in one backward pass. A curve
# $\mathbb{R} \to \mathbb{R}^m$ is the opposite case. We time both on a scalar loss
# $\mathbb{R}^n \to \mathbb{R}$ and on a curve $\mathbb{R} \to \mathbb{R}^m$:

# %%
def best_time(fn, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


sizes = [1, 4, 16, 64, 128]
timings = {"loss": {"jacfwd": [], "jacrev": []}, "curve": {"jacfwd": [], "jacrev": []}}
for n in sizes:
    B = cr.randn(4, n, dtype=cr.float64)
    loss = lambda x, B=B: (cr.tanh(B @ x) ** 2).sum()          # R^n -> R
    a_, b_ = cr.randn(n, dtype=cr.float64), cr.rand(n, dtype=cr.float64)
    curve = lambda t, a_=a_, b_=b_: cr.tanh(t * a_) * cr.exp(-t * b_)  # R -> R^n
    for mode in ("jacfwd", "jacrev"):
        jac = getattr(cr.func, mode)
        timings["loss"][mode].append(best_time(jac(loss), cr.randn(n, dtype=cr.float64)))
        timings["curve"][mode].append(best_time(jac(curve), cr.tensor(0.3, dtype=cr.float64)))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
for ax, (case, label) in zip(axes, [("loss", "n inputs → 1 output"),
                                    ("curve", "1 input → m outputs")]):
    for mode, style in (("jacfwd", "o-"), ("jacrev", "s--")):
        ax.loglog(sizes, timings[case][mode], style, label=mode)
    ax.set(title=label, xlabel="n" if case == "loss" else "m", ylabel="ms per Jacobian")
    ax.legend()
fig.tight_layout()
ratio = timings["loss"]["jacfwd"][-1] / timings["loss"]["jacrev"][-1]
print(f"scalar loss of {sizes[-1]} inputs: jacfwd takes {ratio:.0f}x as long as jacrev")
ratio = timings["curve"]["jacrev"][-1] / timings["curve"]["jacfwd"][-1]
print(f"curve of {sizes[-1]} outputs: jacrev takes {ratio:.0f}x as long as jacfwd")

# %% [markdown]
# Reverse mode's cost for the loss stays flat as $n$ grows, forward mode's grows linearly —
# and the other way round for the curve. That is why deep learning trains with reverse mode
# (backpropagation). Forward mode stores no graph, and run over a reverse pass it gives
# Hessian-vector products cheaply (tutorial 10).
#
# **Try it:** draw the graph of a two-layer network's loss with
# `cr.viz.graph(loss, names=dict(model.named_parameters()))`.
