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
# # 7. Convolutional networks
#
# An MLP treats an image as a flat vector: it does not know that neighbouring pixels belong
# together, and a digit shifted by one pixel looks entirely new to it. A **convolutional
# layer** slides one small filter over the whole image, so it looks for the same local
# pattern everywhere, with far fewer weights. This tutorial computes convolution, padding,
# stride, channels and pooling by hand, checks them against chainrule's layers, trains the
# lecture worksheet's ConvNet on MNIST twice — with `chainrule.keras` and with `cr.nn` — draws
# what it learned, and ends with BatchNorm and a residual block.

# %%
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn, optim

(x_train, y_train), (x_test, y_test) = cr.datasets.load_subset()   # 2,000 + 500 MNIST digits
digit = x_train[0] / 255.0
print("train", x_train.shape, "test", x_test.shape, "first label", y_train[0])

# %% [markdown]
# ## Convolution by hand
#
# A 2-D convolution layer (strictly, a cross-correlation) with a $k \times k$ kernel $K$
# computes each output pixel as the weighted sum of the $k \times k$ patch under the kernel:
#
# $$ y_{ij} = \sum_{u=0}^{k-1}\sum_{v=0}^{k-1} K_{uv}\, x_{i+u,\, j+v} + b. $$
#
# A vertical-edge kernel responds where brightness changes from left to right:

# %%
def conv2d_by_hand(x, kernel, stride=1, padding=0):
    x = np.pad(x, padding)
    k = kernel.shape[0]
    out_h = (x.shape[0] - k) // stride + 1
    out_w = (x.shape[1] - k) // stride + 1
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[i * stride:i * stride + k, j * stride:j * stride + k]
            out[i, j] = (patch * kernel).sum()
    return out


sobel_x = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
edges = conv2d_by_hand(digit, sobel_x)

# The same with chainrule: input (N, C_in, H, W), weight (C_out, C_in, k, k).
x_t = cr.tensor(digit[None, None], dtype=cr.float64)
w_t = cr.tensor(sobel_x[None, None], dtype=cr.float64)
edges_cr = F.conv2d(x_t, w_t)
print("by hand", edges.shape, " F.conv2d", tuple(edges_cr.shape),
      " max difference", np.abs(edges - edges_cr.numpy()[0, 0]).max())

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, img, title in zip(axes, [digit, edges, conv2d_by_hand(digit, sobel_x.T)],
                          ["input", "vertical edges", "horizontal edges"]):
    ax.imshow(img, cmap="gray" if title == "input" else "RdBu_r")
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()

# %% [markdown]
# ## Padding and stride
#
# Without padding a $k \times k$ kernel shrinks an $n \times n$ image to $n - k + 1$.
# **Padding** with $p$ zeros on each side and a **stride** $s$ (moving the kernel $s$ pixels at
# a time) give
#
# $$ n_{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1. $$
#
# `padding=1` with a 3×3 kernel keeps the size ("same"); stride 2 halves it.

# %%
for padding, stride in [(0, 1), (1, 1), (1, 2), (0, 3)]:
    mine = conv2d_by_hand(digit, sobel_x, stride=stride, padding=padding)
    theirs = F.conv2d(x_t, w_t, stride=stride, padding=padding).numpy()[0, 0]
    print(f"padding {padding}, stride {stride}: output {mine.shape}, formula "
          f"{(28 + 2 * padding - 3) // stride + 1}, matches F.conv2d: {np.allclose(mine, theirs)}")

# %% [markdown]
# ## Channels
#
# Real inputs have several channels (red, green, blue; or the 16 feature maps of the layer
# before). A filter spans all $C_{in}$ input channels and sums over them; a layer has
# $C_{out}$ filters, each producing one output channel. So `nn.Conv2d(C_in, C_out, k)` has a
# weight of shape $(C_{out}, C_{in}, k, k)$ and $C_{out}$ biases:
#
# $$ y_{o,ij} = b_o + \sum_{c=1}^{C_{in}} \sum_{u,v} W_{o,c,u,v}\, x_{c,\,i+u,\,j+v}. $$

# %%
cr.manual_seed(0)
conv = nn.Conv2d(3, 4, kernel_size=3, padding=1)
x3 = cr.randn(1, 3, 8, 8)
y_layer = conv(x3)
by_hand = np.stack([
    sum(conv2d_by_hand(x3.numpy()[0, c], conv.weight.detach().numpy()[o, c], padding=1)
        for c in range(3)) + conv.bias.detach().numpy()[o]
    for o in range(4)])
print("weight", tuple(conv.weight.shape), "output", tuple(y_layer.shape),
      "max difference", np.abs(by_hand - y_layer.detach().numpy()[0]).max())

# %% [markdown]
# ## Pooling
#
# **Max pooling** keeps the largest value in each window ($2\times 2$, stride 2: a quarter
# of the pixels), making the representation smaller and a little invariant to small shifts.

# %%
def max_pool_by_hand(x, k=2):
    h, w = x.shape[0] // k, x.shape[1] // k
    return x[:h * k, :w * k].reshape(h, k, w, k).max(axis=(1, 3))


pooled = max_pool_by_hand(np.abs(edges))
pooled_cr = nn.MaxPool2d(2)(cr.tensor(np.abs(edges)[None, None]))
print("pooled", pooled.shape, "matches nn.MaxPool2d:", np.allclose(pooled, pooled_cr.numpy()[0, 0]))

# %% [markdown]
# ## The worksheet ConvNet with `chainrule.keras`
#
# The lecture worksheet's Keras program runs on chainrule with only its imports changed. Here
# it trains on the 2,000-digit subset for 3 epochs instead of on 50,000 digits for 15 (the full
# run reaches 99.2 % test accuracy, see the README; `python examples/keras_mnist_cnn.py`).

# %%
from chainrule.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from chainrule.keras.models import Sequential
from chainrule.keras.optimizers import Adam
from chainrule.keras.utils import to_categorical

xk_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
xk_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
yk_train, yk_test = to_categorical(y_train, 10), to_categorical(y_test, 10)

cr.manual_seed(0)
model = Sequential()
model.add(Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
model.add(Conv2D(32, (3, 3), activation="relu"))
model.add(MaxPool2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation="relu"))
model.add(Dropout(0.5))
model.add(Dense(10, activation="softmax"))
model.summary()
model.compile(optimizer=Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(xk_train, yk_train, epochs=3, batch_size=32, validation_split=1 / 6,
                    verbose=0)
keras_loss, keras_acc = model.evaluate(xk_test, yk_test, verbose=0)
print(f"chainrule.keras worksheet ConvNet: test accuracy {keras_acc:.3f}")

# %% [markdown]
# ## The same network with `cr.nn`
#
# In PyTorch style the layers take channels-first input $(N, 1, 28, 28)$, the model outputs
# logits, and `F.cross_entropy` applies the softmax inside (tutorial 3). `nn.Flatten` turns
# the $32 \times 12 \times 12$ feature maps into 4,608 features.

# %%
cr.manual_seed(0)
net = nn.Sequential(
    nn.Conv2d(1, 16, 3), nn.ReLU(),
    nn.Conv2d(16, 32, 3), nn.ReLU(),
    nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
    nn.Linear(32 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5),
    nn.Linear(128, 10),
)
print("parameters:", sum(p.numel() for p in net.parameters()))
xt = cr.tensor(x_train[:, None] / 255.0, dtype=cr.float32)
yt = cr.tensor(y_train.astype(np.int64))
xv = cr.tensor(x_test[:, None] / 255.0, dtype=cr.float32)
yv = cr.tensor(y_test.astype(np.int64))
loader = cr.data.DataLoader(cr.data.TensorDataset(xt, yt), batch_size=32, shuffle=True)


def accuracy(model, x, y):
    model.eval()
    with cr.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    model.train()
    return acc


opt = optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
    print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f}, "
          f"test accuracy {accuracy(net, xv, yv):.3f}")
nn_acc = accuracy(net, xv, yv)
print(f"cr.nn ConvNet: test accuracy {nn_acc:.3f}")

# %% [markdown]
# ## What the network learned
#
# The first layer's 16 filters are $3 \times 3$ weight patterns; its feature maps show where
# each pattern occurs in a digit (red: positive weights, blue: negative). Several filters
# have a positive and a negative side, like the Sobel kernel above: they respond to edges
# and strokes in one direction. Longer training makes them cleaner.

# %%
filters = net[0].weight.detach().numpy()[:, 0]
fig, axes = plt.subplots(2, 8, figsize=(10, 3.2))
for ax, f in zip(axes.flat, filters):
    ax.imshow(f, cmap="RdBu_r", vmin=-abs(f).max(), vmax=abs(f).max())
    ax.axis("off")
fig.suptitle("first-layer filters")
fig.tight_layout()

with cr.no_grad():
    maps = net[1](net[0](xv[:1])).numpy()[0]
fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for ax, m in zip(axes.flat, maps):
    ax.imshow(m, cmap="viridis")
    ax.axis("off")
fig.suptitle(f"first-layer feature maps of a test digit (label {y_test[0]})")
fig.tight_layout()

# %% [markdown]
# ## BatchNorm and a residual block
#
# **Batch normalisation** (`nn.BatchNorm2d(C)`) standardises each channel over the batch and
# the spatial positions, then rescales it with a learned $\gamma$ and $\beta$:
# $\hat x = \gamma\,(x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon} + \beta$. In training it uses the
# batch's statistics and keeps running averages of them; in `eval()` mode it uses the running
# averages, so a single image gets a deterministic output.

# %%
bn = nn.BatchNorm2d(4)
h = cr.randn(16, 4, 10, 10) * 5 + 3
out = bn(h)
print("before: channel means", h.mean(dim=(0, 2, 3)).numpy().round(2))
print("after : channel means", out.mean(dim=(0, 2, 3)).detach().numpy().round(2),
      " stds", out.std(dim=(0, 2, 3)).detach().numpy().round(2))
print("running mean after one batch (momentum 0.1):", bn.running_mean.numpy().round(2))

# %% [markdown]
# A **residual block** adds its input back to its output, $y = \mathrm{ReLU}(x + F(x))$. The
# identity path lets gradients flow straight through a deep stack of blocks, which is what
# makes networks of a hundred layers trainable (ResNets).

# %%
class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(x + out)


cr.manual_seed(0)
resnet = nn.Sequential(
    nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
    ResidualBlock(16), nn.MaxPool2d(2), ResidualBlock(16),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
)
opt = optim.Adam(resnet.parameters(), lr=3e-3)
for _ in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(resnet(xb), yb)
        loss.backward()
        opt.step()
res_acc = accuracy(resnet, xv, yv)
print(f"small residual network ({sum(p.numel() for p in resnet.parameters())} parameters): "
      f"test accuracy {res_acc:.3f}")

# %% [markdown]
# **Try it:** remove the `x +` in `ResidualBlock.forward`, stack eight blocks, and compare the
# gradient norms that reach the first convolution with and without the skip connection.
