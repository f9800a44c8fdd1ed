"""Exploding gradients in a one-neuron recurrence, and what gradient-norm clipping does.

    python examples/exploding_gradients.py [--steps 50] [--b -2.5] [--max-norm 1.0]

The recurrence h(t) = w·σ(h(t−1)) + b, h(0) = 0.5, runs for 50 steps; the loss is
(h(50) − 0.7)². Near the values of w where the map's fixed point bifurcates, tiny changes of w
move h(50) a lot, so ∂loss/∂(w, b) blows up by orders of magnitude. The table prints the
gradient norm for a range of w, before and after ``clip_grad_norm_`` — clipping keeps the
direction and caps the length — and then runs plain gradient descent from a w close to the
cliff with and without clipping.
"""

from __future__ import annotations

import argparse

import chainrule as cr
import chainrule.nn.utils  # noqa: F401


def loss_and_grads(w0: float, b0: float, steps: int) -> tuple[float, cr.Tensor, cr.Tensor]:
    w = cr.tensor(w0, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(b0, dtype=cr.float64, requires_grad=True)
    h = cr.tensor(0.5, dtype=cr.float64)
    for _ in range(steps):
        h = w * h.sigmoid() + b
    loss = (h - 0.7) ** 2
    loss.backward()
    return loss.item(), w, b


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--b", type=float, default=-2.5)
    p.add_argument("--max-norm", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=0.1)
    a = p.parse_args()

    print(f"h(t) = w*sigmoid(h(t-1)) + b, b = {a.b}, h(0) = 0.5, loss = (h({a.steps}) - 0.7)^2")
    print(f"{'w':>9} {'h(T)':>9} {'loss':>10} {'|grad|':>12} {'|grad| clipped':>15}")
    ws = [0.5 * i for i in range(25)]
    lo, hi = 4.0, 6.0  # bisect the cliff: where h(T) jumps between the two fixed points
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _h_final(mid, a.b, a.steps) < 0 else (lo, mid)
    ws += [lo - d for d in (1e-1, 1e-2, 1e-3, 1e-4)] + [hi + d for d in (1e-4, 1e-3, 1e-2)]
    for w0 in sorted(ws):
        loss, w, b = loss_and_grads(w0, a.b, a.steps)
        norm = float(cr.nn.utils.clip_grad_norm_([w, b], a.max_norm))
        clipped = (w.grad.item() ** 2 + b.grad.item() ** 2) ** 0.5
        h_T = _h_final(w0, a.b, a.steps)
        print(f"{w0:9.5f} {h_T:9.4f} {loss:10.4f} {norm:12.4g} {clipped:15.4g}")

    print(f"\ngradient descent on (w, b), lr {a.lr}, from w = 5.5, b = {a.b}:")
    for clip in (None, a.max_norm):
        w = cr.tensor(5.5, dtype=cr.float64, requires_grad=True)
        b = cr.tensor(a.b, dtype=cr.float64, requires_grad=True)
        trace = []
        for _ in range(20):
            h = cr.tensor(0.5, dtype=cr.float64)
            for _ in range(a.steps):
                h = w * h.sigmoid() + b
            loss = (h - 0.7) ** 2
            w.grad = b.grad = None
            loss.backward()
            norm = (w.grad.item() ** 2 + b.grad.item() ** 2) ** 0.5
            if clip is not None:
                cr.nn.utils.clip_grad_norm_([w, b], clip)
            with cr.no_grad():
                w.sub_(a.lr * w.grad)
                b.sub_(a.lr * b.grad)
            trace.append((loss.item(), norm))
        label = "no clipping" if clip is None else f"clip_grad_norm_ {clip}"
        print(f"  {label:22s} final w {w.item():10.4g}, b {b.item():10.4g}, loss "
              f"{trace[-1][0]:.4g}; max |grad| seen {max(n for _, n in trace):.4g}")
        print("    losses: " + " ".join(f"{lo:.3g}" for lo, _ in trace[:10]) + " ...")


def _h_final(w: float, b: float, steps: int) -> float:
    h = cr.tensor(0.5, dtype=cr.float64)
    for _ in range(steps):
        h = w * h.sigmoid() + b
    return h.item()


if __name__ == "__main__":
    main()
