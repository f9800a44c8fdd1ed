"""Exploding gradients in a one-neuron recurrence, and what gradient-norm clipping does.

    python examples/exploding_gradients.py [--steps 50] [--lr 0.01] [--max-norm 20] [--plot F]

The recurrence h(t) = w·σ(h(t−1)) + b, h(0) = 0.5, runs for 50 steps; the loss is
(h(50) − 0.7)². Where the map's fixed point bifurcates (a "cliff" in w), a tiny change of w
moves h(50) a lot, so the gradient ∂loss/∂(w, b) explodes by orders of magnitude there.

1. The table: the gradient norm across w, before and after ``clip_grad_norm_`` (which keeps
   the direction and caps the length at ``--max-norm``).
2. Gradient descent from w = 5, b = −2.5 (beside the cliff), with and without clipping. A step
   is lr·gradient: without clipping, the step that meets the cliff is hundreds of times the
   others and throws (w, b) far away, where the loss is in the thousands and descent needs many
   steps to come back. With clipping no step is longer than lr·max_norm, whatever the gradient, so
   (w, b) stay beside the cliff. Clipping bounds the steps; it does not make descent faster
   (far from the cliff the two runs are the same), and near the cliff the loss still jumps
   between the two sides as w crosses it.

A figure of both (``--plot``, default ``exploding_gradients.png``) is written when matplotlib
is installed (``pip install 'chainrule[plot]'``).
"""

from __future__ import annotations

import argparse
import math

import chainrule as cr
import chainrule.nn.utils  # noqa: F401


def loss_and_grads(w0: float, b0: float, steps: int) -> tuple[float, float, cr.Tensor, cr.Tensor]:
    """(h(T), loss, w, b) with ``w.grad`` and ``b.grad`` filled by backpropagation through time."""
    w = cr.tensor(w0, dtype=cr.float64, requires_grad=True)
    b = cr.tensor(b0, dtype=cr.float64, requires_grad=True)
    h = cr.tensor(0.5, dtype=cr.float64)
    for _ in range(steps):
        h = w * h.sigmoid() + b
    loss = (h - 0.7) ** 2
    loss.backward()
    return h.item(), loss.item(), w, b


def find_cliff(b: float, steps: int) -> float:
    """The w in [4, 6] where h(T) jumps from the lower to the upper fixed point (bisection)."""
    lo, hi = 4.0, 6.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if loss_and_grads(mid, b, steps)[0] < 0 else (lo, mid)
    return lo


def descend(w0: float, b0: float, a: argparse.Namespace, clip: float | None) -> list[dict]:
    """Gradient descent on (w, b); per iteration the loss, the gradient norm and the step."""
    w, b, trace = w0, b0, []
    for _ in range(a.iters):
        _, loss, wt, bt = loss_and_grads(w, b, a.steps)
        norm = math.hypot(wt.grad.item(), bt.grad.item())
        if clip is not None:
            cr.nn.utils.clip_grad_norm_([wt, bt], clip)
        dw, db = a.lr * wt.grad.item(), a.lr * bt.grad.item()
        w, b = w - dw, b - db
        trace.append({"loss": loss, "grad": norm, "step": math.hypot(dw, db)})
    return trace


def plot(path: str, sweep: list[tuple[float, float, float]], cliff: float,
         runs: dict[str, list[dict]], a: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    ws = [s[0] for s in sweep]
    ax[0].semilogy(ws, [s[1] for s in sweep], label="gradient norm")
    ax[0].semilogy(ws, [s[2] for s in sweep], "--", label=f"clipped at {a.max_norm}")
    ax[0].axvline(cliff, color="grey", lw=0.8)
    ax[0].set(xlabel="w", ylabel="‖∂loss/∂(w, b)‖", title=f"the cliff (b = {a.b}, T = {a.steps})")
    for label, trace in runs.items():
        it = range(1, len(trace) + 1)
        ax[1].semilogy(it, [t["step"] for t in trace], label=label)
        ax[2].semilogy(it, [t["loss"] for t in trace], label=label)
    ax[1].axhline(a.lr * a.max_norm, color="grey", lw=0.8, ls=":", label="lr·max_norm")
    ax[1].set(xlabel="iteration", ylabel="‖step‖ = lr·‖gradient applied‖",
              title="the steps of gradient descent")
    ax[2].set(xlabel="iteration", ylabel="loss", title=f"the loss (lr {a.lr})")
    for axis in ax:
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=int, default=50, help="length T of the recurrence")
    p.add_argument("--b", type=float, default=-2.5, help="the bias b of the sweep and the start")
    p.add_argument("--w0", type=float, default=5.0, help="where gradient descent starts")
    p.add_argument("--max-norm", type=float, default=20.0, help="clip_grad_norm_'s max_norm")
    p.add_argument("--lr", type=float, default=0.01, help="gradient descent's learning rate")
    p.add_argument("--iters", type=int, default=100, help="gradient descent iterations")
    p.add_argument("--plot", default="exploding_gradients.png", help="the figure written")
    a = p.parse_args()

    print(f"h(t) = w*sigmoid(h(t-1)) + b, b = {a.b}, h(0) = 0.5, "
          f"loss = (h({a.steps}) - 0.7)^2")
    print(f"{'w':>9} {'h(T)':>9} {'loss':>10} {'|grad|':>12} {'|grad| clipped':>15}")
    cliff = find_cliff(a.b, a.steps)
    table = [0.5 * i for i in range(25)]
    table += [cliff - d for d in (1e-1, 1e-2, 1e-3, 1e-4)] + [cliff + d for d in (1e-4, 1e-3, 1e-2)]
    for w0 in sorted(table):
        h_T, loss, w, b = loss_and_grads(w0, a.b, a.steps)
        norm = float(cr.nn.utils.clip_grad_norm_([w, b], a.max_norm))
        clipped = math.hypot(w.grad.item(), b.grad.item())
        print(f"{w0:9.5f} {h_T:9.4f} {loss:10.4f} {norm:12.4g} {clipped:15.4g}")

    print(f"\ngradient descent on (w, b), lr {a.lr}, {a.iters} iterations, from w = {a.w0}, "
          f"b = {a.b}:")
    runs = {"no clipping": descend(a.w0, a.b, a, None),
            f"clip_grad_norm_ {a.max_norm}": descend(a.w0, a.b, a, a.max_norm)}
    print(f"  {'':22s} {'max |grad|':>11} {'max |step|':>11} {'max loss':>10} "
          f"{'final loss':>11}")
    for label, trace in runs.items():
        print(f"  {label:22s} {max(t['grad'] for t in trace):11.4g} "
              f"{max(t['step'] for t in trace):11.4g} {max(t['loss'] for t in trace):10.4g} "
              f"{trace[-1]['loss']:11.4g}")
    print(f"  Without clipping the step that meets the cliff is lr x |grad|; with clipping no "
          f"step exceeds\n  lr x max_norm = {a.lr * a.max_norm:g}, so (w, b) are never thrown "
          f"away (the gradient itself still explodes).")

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("\nmatplotlib is not installed (pip install 'chainrule[plot]'): no figure written")
        return
    ws = [cliff + d for d in [x / 200 - 0.3 for x in range(121)]] + table
    sweep = []
    for w0 in sorted(w0 for w0 in ws if 4.0 <= w0 <= 6.0):
        _, _, w, b = loss_and_grads(w0, a.b, a.steps)
        norm = float(cr.nn.utils.clip_grad_norm_([w, b], a.max_norm))
        sweep.append((w0, norm, math.hypot(w.grad.item(), b.grad.item())))
    plot(a.plot, sweep, cliff, runs, a)
    print(f"\nfigure written to {a.plot}")


if __name__ == "__main__":
    main()
