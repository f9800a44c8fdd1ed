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
# # 6. Regularisation and generalisation
#
# A network with many more parameters than training examples can memorise its training set:
# the training loss goes to zero while the loss on new data — what we care about — gets
# *worse*. This is **overfitting**, and the gap between training and validation performance is
# the thing to watch. **Regularisation** is anything that narrows the gap: penalties on the
# weights (L2, L1), noise during training (dropout), or stopping at the right time (early
# stopping).
#
# We train an MLP with 118,000 parameters on only 500 MNIST digits and validate on 500 others.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
import chainrule.nn.utils
from chainrule import nn, optim

(x_train, y_train), (x_test, y_test) = cr.datasets.load_subset()


def prepare(images, labels, n):
    x = cr.tensor(images[:n].reshape(n, -1) / 255.0, dtype=cr.float32)
    return x, cr.tensor(labels[:n].astype(np.int64))


x_tr, y_tr = prepare(x_train, y_train, 500)
x_val, y_val = prepare(x_test, y_test, 500)


def mlp(p_drop=0.0):
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(128, 128), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(128, 10))


print("parameters:", sum(p.numel() for p in mlp().parameters()))

# %% [markdown]
# ## The training loop, with an optional penalty
#
# One function trains a model for a number of epochs of minibatches and records the loss and
# accuracy on both sets after every epoch. `penalty` adds a term to the loss:
#
# * **L2** adds $\lambda \sum_i \theta_i^2$: its gradient $2\lambda\theta$ shrinks every weight
#   towards 0 in proportion to its size ("weight decay"; optimizers also offer it directly as
#   `weight_decay=`).
# * **L1** adds $\lambda \sum_i |\theta_i|$: its gradient $\lambda\,\mathrm{sign}(\theta)$ pulls
#   every weight towards 0 by the same amount, so small weights reach 0: sparse weights.
#
# `model.train()` and `model.eval()` switch dropout on and off.

# %%
def evaluate(model, x, y):
    model.eval()
    with cr.no_grad():
        logits = model(x)
    model.train()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def fit(model, epochs=30, penalty=None, lam=0.0, batch_size=50):
    opt = optim.Adam(model.parameters(), lr=1e-3)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    history = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    gen = np.random.default_rng(0)
    for _ in range(epochs):
        model.train()
        for idx in np.array_split(gen.permutation(len(y_tr)), len(y_tr) // batch_size):
            opt.zero_grad()
            loss = F.cross_entropy(model(x_tr[idx]), y_tr[idx])
            if penalty is not None:
                loss = loss + lam * penalty(weights)
            loss.backward()
            opt.step()
        for split, (x, y) in (("train", (x_tr, y_tr)), ("val", (x_val, y_val))):
            loss_value, acc = evaluate(model, x, y)
            history[f"{split}_loss"].append(loss_value)
            history[f"{split}_acc"].append(acc)
    return history

# %% [markdown]
# ## No regularisation: overfitting
#
# The training loss falls towards zero, a hundred times below the validation loss. The
# validation loss stops falling after about fifteen epochs and then creeps *up*: the network
# grows more confident on the training digits and more confidently wrong on some it has not
# seen, while the validation accuracy stays flat.

# %%
models = {"none": mlp()}
histories = {"none": fit(models["none"])}


def plot_curves(names):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for name in names:
        h = histories[name]
        line, = axes[0].plot(h["val_loss"], label=f"{name} (validation)")
        axes[0].plot(h["train_loss"], "--", color=line.get_color(), label=f"{name} (train)")
        axes[1].plot(h["val_acc"], color=line.get_color(), label=name)
    axes[0].set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()


plot_curves(["none"])
best = int(np.argmin(histories["none"]["val_loss"]))
print(f"no regularisation: lowest validation loss at epoch {best + 1}; "
      f"final train loss {histories['none']['train_loss'][-1]:.4f}, "
      f"validation loss {histories['none']['val_loss'][-1]:.3f}")

# %% [markdown]
# ## L2, L1 and dropout
#
# **Dropout** (`nn.Dropout(p)`) zeroes each hidden unit with probability $p$ during training
# and scales the survivors by $1/(1-p)$, so no unit can rely on any particular other unit;
# at evaluation time it does nothing.

# %%
runs = {
    "L2 (λ=1e-3)": dict(penalty=cr.nn.utils.l2_penalty, lam=1e-3),
    "L1 (λ=1e-4)": dict(penalty=cr.nn.utils.l1_penalty, lam=1e-4),
    "dropout 0.5": dict(),
}
for name, kwargs in runs.items():
    models[name] = mlp(p_drop=0.5 if name.startswith("dropout") else 0.0)
    histories[name] = fit(models[name], **kwargs)
plot_curves(list(histories))
for name, h in histories.items():
    print(f"{name:12s} train loss {h['train_loss'][-1]:.4f}  validation loss "
          f"{h['val_loss'][-1]:.3f}  validation accuracy {h['val_acc'][-1]:.3f}")

# %% [markdown]
# With so few epochs the effects are modest but visible: each regulariser keeps the
# training loss further from zero (dropout the most) and ends with a lower validation loss
# than the unregularised network. L1 and L2 leave different marks on the weights: L2 makes
# them small, L1 makes most of them (nearly) exactly zero.

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for name in ["none", "L2 (λ=1e-3)", "L1 (λ=1e-4)"]:
    w = models[name][0].weight.detach().numpy().ravel()
    ax.hist(w, bins=np.linspace(-0.15, 0.15, 121), histtype="step", label=name)
    print(f"{name:12s} first-layer weights with |w| < 1e-3: {(np.abs(w) < 1e-3).mean():.1%}")
ax.set(xlabel="first-layer weight", yscale="log", title="weight histograms")
ax.legend(fontsize=8)
fig.tight_layout()

# %% [markdown]
# ## Early stopping
#
# The simplest regulariser: keep the weights from the epoch with the best validation loss and
# stop once it has not improved for `patience` epochs. The Keras front-end has it as a
# callback, with `restore_best_weights=True` to roll back to the best epoch:

# %%
from chainrule.keras import callbacks, layers
from chainrule.keras import models as keras_models

cr.manual_seed(0)
model = keras_models.Sequential([layers.Input((784,)), layers.Dense(128, activation="relu"),
                                 layers.Dense(128, activation="relu"),
                                 layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
history = model.fit(x_tr.numpy(), y_tr.numpy(), validation_data=(x_val.numpy(), y_val.numpy()),
                    epochs=30, batch_size=50, callbacks=[stop], verbose=0)
val_loss, val_acc = model.evaluate(x_val.numpy(), y_val.numpy(), verbose=0)
print(f"early stopping: stopped after epoch {len(history.history['loss'])}, "
      f"restored epoch {stop.best_epoch + 1}; validation loss {val_loss:.3f}, "
      f"accuracy {val_acc:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(history.history["loss"], "--", label="train")
ax.plot(history.history["val_loss"], label="validation")
ax.axvline(stop.best_epoch, color="k", lw=0.8, label="restored weights")
ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="EarlyStopping(patience=5)")
ax.legend()
fig.tight_layout()

# %% [markdown]
# With 500 examples, each method buys a little; with a larger training set the gap shrinks by
# itself — more data is the best regulariser of all.
#
# **Try it:** combine dropout with L2, or train the unregularised network on all 2,000
# digits of the subset, and compare the gaps.
