"""Function transforms beside torch.func on the same functions: vmap, jacfwd, jacrev, hessian.

    python benchmarks/func_transforms.py [--quick] [--repeat R] [--json out.json]

The cases (float32, as the torch.func tutorials; the Jacobian cases on the tutorials'
``predict(x) = tanh(linear(x, W, b))``):

- per-sample gradients of a 3-layer MLP (``nn.Sequential`` of Linear 64-128-128-10 with ReLU,
  cross-entropy) over 256 samples: ``vmap(grad(loss), in_dims=(None, 0, 0))`` with
  ``functional_call``, beside the loop of one ``grad`` per sample it replaces (the issue's
  target: the loop / vmap >= 20);
- ``jacfwd(jacfwd(f))``, the Hessian of ``f(x) = predict(x).sum()`` over 512 inputs
  (W: 16 x 512);
- ``jacrev(jacrev(f))`` of the same function;
- ``jacfwd(predict)`` over 2048 inputs (W: 32 x 2048).

Each cell is the best of ``--repeat`` timings in milliseconds of this process's CPU time
(``time.process_time``; BLAS and torch pinned to one thread, so that other work on a shared
machine does not inflate it). ``ours / torch`` is the ratio to torch.func (the issue's target:
<= 3). Results are checked against each other before timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ad_modes import best_ms  # noqa: E402  (this folder is the script's sys.path[0])

import chainrule as cr  # noqa: E402
import chainrule.func as F  # noqa: E402

try:
    import torch
    import torch.func as TF

    torch.set_num_threads(1)
except ImportError:  # the chainrule columns still run
    torch = None


def _best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: first-call caches
    return best_ms(fn, repeat)


def _array(x: Any) -> np.ndarray:
    return x.detach().numpy() if hasattr(x, "detach") and not isinstance(x, cr.Tensor) \
        else np.asarray(x.array)


def _per_sample(lib: Any, functional_call: Any, grad: Any, vmap: Any,
                weights: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Any:
    nn = lib.nn
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights[::2]]
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(), nn.Linear(sizes[1], sizes[2]),
                          nn.ReLU(), nn.Linear(sizes[2], sizes[3]))
    names = [k for k, _ in model.named_parameters()]
    params = {k: lib.tensor(w) for k, w in zip(names, weights)}

    def loss(p: dict[str, Any], xi: Any, yi: Any) -> Any:
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return nn.functional.cross_entropy(out, yi.unsqueeze(0))

    xs, ys = lib.tensor(x), lib.tensor(y)
    batched = vmap(grad(loss), in_dims=(None, 0, 0))
    return (lambda: batched(params, xs, ys),
            lambda: [grad(loss)(params, xs[i], ys[i]) for i in range(len(x))])


def _predict(lib: Any, nnf: Any, w: np.ndarray, b: np.ndarray) -> Callable[[Any], Any]:
    tw, tb = lib.tensor(w), lib.tensor(b)
    return lambda x: nnf.linear(x, tw, tb).tanh()


def run(quick: bool, repeat: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    f32 = np.float32
    sizes = [64, 128, 128, 10]
    weights = []
    for i, o in zip(sizes, sizes[1:]):
        weights += [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(f32),
                    np.zeros(o, f32)]
    n = 256
    x, y = rng.standard_normal((n, 64)).astype(f32), rng.integers(0, 10, n)
    hess_n, jac_n = (128, 512) if quick else (512, 2048)
    wh, bh = (rng.standard_normal((16, hess_n)) / np.sqrt(hess_n)).astype(f32), \
        rng.standard_normal(16).astype(f32)
    wj, bj = (rng.standard_normal((32, jac_n)) / np.sqrt(jac_n)).astype(f32), \
        rng.standard_normal(32).astype(f32)
    xh, xj = rng.standard_normal(hess_n).astype(f32), rng.standard_normal(jac_n).astype(f32)

    ours_vmap, ours_loop = _per_sample(cr, F.functional_call, F.grad, F.vmap, weights, x, y)
    hess_ours = _predict(cr, cr.nn.functional, wh, bh)
    jac_ours = _predict(cr, cr.nn.functional, wj, bj)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
        ("per-sample grads, MLP x256 (vmap)", ours_vmap, None),
        (f"jacfwd(jacfwd) Hessian, {hess_n} inputs",
         lambda: F.jacfwd(F.jacfwd(lambda v: hess_ours(v).sum()))(cr.tensor(xh)), None),
        (f"jacrev(jacrev) Hessian, {hess_n} inputs",
         lambda: F.jacrev(F.jacrev(lambda v: hess_ours(v).sum()))(cr.tensor(xh)), None),
        (f"jacfwd, {jac_n} inputs", lambda: F.jacfwd(jac_ours)(cr.tensor(xj)), None),
    ]
    if torch is not None:
        tn = torch.nn.functional
        t_vmap, _ = _per_sample(torch, TF.functional_call, TF.grad, TF.vmap, weights, x, y)
        hess_t = _predict(torch, tn, wh, bh)
        jac_t = _predict(torch, tn, wj, bj)
        cases = [
            (cases[0][0], cases[0][1], t_vmap),
            (cases[1][0], cases[1][1],
             lambda: TF.jacfwd(TF.jacfwd(lambda v: hess_t(v).sum()))(torch.tensor(xh))),
            (cases[2][0], cases[2][1],
             lambda: TF.jacrev(TF.jacrev(lambda v: hess_t(v).sum()))(torch.tensor(xh))),
            (cases[3][0], cases[3][1], lambda: TF.jacfwd(jac_t)(torch.tensor(xj))),
        ]
    batched, looped = ours_vmap(), ours_loop()
    for k in batched:  # vmap gives what the loop gives
        np.testing.assert_allclose(batched[k].array, np.stack([g[k].array for g in looped]),
                                   rtol=1e-5, atol=1e-6)
    results = []
    print(f"| {'case':<36} | {'ours ms':>9} | {'torch.func ms':>13} | ours / torch |")
    print(f"|{'-' * 38}|{'-' * 11}|{'-' * 15}|{'-' * 14}|")
    for name, ours, theirs in cases:
        if theirs is not None:
            a, b = ours(), theirs()
            for p, q in zip(_leaves(a), _leaves(b)):
                np.testing.assert_allclose(_array(p), _array(q), rtol=2e-3, atol=2e-4)
        t_ours = _best(ours, repeat)
        t_theirs = _best(theirs, repeat) if theirs is not None else float("nan")
        print(f"| {name:<36} | {t_ours:9.2f} | {t_theirs:13.2f} | {t_ours / t_theirs:12.2f} |")
        results.append({"case": name, "ours_ms": t_ours, "torch_ms": t_theirs})
    loop = _best(ours_loop, repeat)
    speedup = loop / results[0]["ours_ms"]
    print(f"\nper-sample grads: the loop of {n} grad calls {loop:.1f} ms, vmap "
          f"{results[0]['ours_ms']:.2f} ms: {speedup:.1f}x faster")
    results.append({"case": "per-sample grads, loop", "ours_ms": loop, "speedup": speedup})
    return results


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [v for k in sorted(x) for v in _leaves(x[k])]
    if isinstance(x, (tuple, list)):
        return [v for item in x for v in _leaves(item)]
    return [x]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller Hessian and Jacobian")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", default="", help="write the results to this file")
    args = p.parse_args()
    results = run(args.quick, args.repeat)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
