"""1-D regression: fit y = sin(3x) + noise with an MLP, inputs and targets standardised.

    python examples/regression.py
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, Standardize, TensorDataset


def main(epochs: int = 200, seed: int = 0) -> float:
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (512, 1)).astype(np.float32)
    y = (np.sin(3 * x) + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)
    sx, sy = Standardize().fit(x), Standardize().fit(y)
    data = TensorDataset(cr.tensor(sx(x)), cr.tensor(sy(y)))
    loader = DataLoader(data, batch_size=64, shuffle=True, generator=cr.Generator(seed))
    model = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 1))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.StepLR(opt, step_size=80, gamma=0.3)
    loss_fn = nn.MSELoss()
    for epoch in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        sched.step()
        if epoch % 40 == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}")
    grid = np.linspace(-2, 2, 200, dtype=np.float32)[:, None]
    with cr.no_grad():
        pred = sy.inverse(model(cr.tensor(sx(grid))).numpy())
    rmse = float(np.sqrt(np.mean((pred - np.sin(3 * grid)) ** 2)))
    print(f"RMSE against the noiseless curve: {rmse:.4f} (noise std 0.1)")
    return rmse


if __name__ == "__main__":
    main()
