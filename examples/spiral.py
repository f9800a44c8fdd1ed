"""Classify the three-arm 2-D spiral with a small ReLU MLP (no linear boundary works here).

    python examples/spiral.py
"""

from __future__ import annotations

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset
from chainrule.datasets import make_spiral


def main(epochs: int = 150, seed: int = 0) -> float:
    cr.manual_seed(seed)
    x, y = make_spiral(n=600, classes=3, noise=0.1, seed=seed)
    x, y = cr.tensor(x, dtype=cr.float32), cr.tensor(y)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=cr.Generator(seed))
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 3))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 25 == 0 or epoch == epochs - 1:
            with cr.no_grad():
                acc = (model(x).argmax(1) == y).float().mean().item()
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}  train accuracy {acc:.3f}")
    return acc


if __name__ == "__main__":
    main()
