"""XOR with the smallest network that solves it: 2 inputs, 2 sigmoid hidden units, 1 output.

One hidden unit learns OR, the other AND (or NAND), and the output combines them; no linear
model can separate XOR, two hidden units are enough.

    python examples/xor.py
"""

from __future__ import annotations

import chainrule as cr
from chainrule import nn, optim


def main(steps: int = 2000, seed: int = 0) -> float:
    cr.manual_seed(seed)
    x = cr.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = cr.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    loss_fn = nn.MSELoss()
    for step in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if step % 500 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    with cr.no_grad():
        out = model(x)
    for xi, oi in zip(x.tolist(), out.reshape(-1).tolist()):
        print(f"{xi} -> {oi:.3f}")
    return loss.item()


if __name__ == "__main__":
    main()
