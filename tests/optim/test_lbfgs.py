"""LBFGS equals torch.optim.LBFGS step for step: with and without the strong-Wolfe line
search, short histories, on a convex and a non-convex problem, in float64 and float32."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _problem(kind: str, dtype: str):
    rng = np.random.default_rng(0)
    if kind == "rosenbrock":
        x0 = np.array([-1.5, 2.0, 0.5, -0.3], dtype=dtype)

        def loss_of(lib, x, w=None):
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return [x0], loss_of
    # a small MLP regression (non-convex, two parameters of different shapes)
    a = rng.standard_normal((8, 3)).astype(dtype)
    b = rng.standard_normal((8,)).astype(dtype)
    w0 = (0.5 * rng.standard_normal((3, 4))).astype(dtype)
    v0 = (0.5 * rng.standard_normal((4,))).astype(dtype)

    def loss_of(lib, w, v):
        A, B = lib.tensor(a), lib.tensor(b)
        return ((lib.tanh(A @ w) @ v - B) ** 2).mean()
    return [w0, v0], loss_of


def _run(lib, start, loss_of, steps, **kwargs):
    params = [lib.nn.Parameter(lib.tensor(x.copy())) for x in start]
    opt = lib.optim.LBFGS(params, **kwargs)
    trajectory, losses = [], []

    def closure():
        opt.zero_grad()
        loss = loss_of(lib, *params)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
        trajectory.append([p.detach().numpy().copy() for p in params])
    state = opt.state[params[0]]
    return trajectory, losses, state["func_evals"], state["n_iter"]


@pytest.mark.parametrize("kind", ["rosenbrock", "mlp"])
@pytest.mark.parametrize("kwargs", [
    {},
    {"line_search_fn": "strong_wolfe"},
    {"history_size": 3, "max_iter": 7, "lr": 0.5},
    {"history_size": 2, "line_search_fn": "strong_wolfe", "max_iter": 10, "max_eval": 13},
    {"tolerance_grad": 1e-3, "tolerance_change": 1e-4, "line_search_fn": "strong_wolfe"},
])
def test_trajectory_matches_torch_float64(kind: str, kwargs: dict) -> None:
    start, loss_of = _problem(kind, "float64")
    ours = _run(cr, start, loss_of, 4, **kwargs)
    theirs = _run(torch, start, loss_of, 4, **kwargs)
    assert ours[2:] == theirs[2:]  # the same number of evaluations and iterations
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)
    for mine, ref in zip(ours[0], theirs[0]):
        for a, b in zip(mine, ref):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_trajectory_matches_torch_float32(line_search_fn) -> None:
    start, loss_of = _problem("mlp", "float32")
    ours = _run(cr, start, loss_of, 2, line_search_fn=line_search_fn, max_iter=5)
    theirs = _run(torch, start, loss_of, 2, line_search_fn=line_search_fn, max_iter=5)
    for mine, ref in zip(ours[0], theirs[0]):
        for a, b in zip(mine, ref):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_minimises_a_quadratic_and_stops_at_the_optimum() -> None:
    x = cr.nn.Parameter(cr.tensor([3.0, -2.0], dtype=cr.float64))
    opt = cr.optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-8)
    evals = opt.state[x]["func_evals"]
    opt.step(closure)  # gradient already below tolerance_grad: one evaluation, no move
    assert opt.state[x]["func_evals"] == evals + 1


def test_errors_as_in_torch() -> None:
    a, b = cr.nn.Parameter(cr.ones(2)), cr.nn.Parameter(cr.ones(2))
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        cr.optim.LBFGS([a], lr=-1)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        cr.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    opt = cr.optim.LBFGS([a], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (a ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    assert cr.optim.LBFGS([a]).defaults["max_eval"] == 25
