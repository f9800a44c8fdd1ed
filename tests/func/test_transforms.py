"""``cr.func``: jacfwd == jacrev on composite functions, Hessians against analytic values,
composition (grad of grad, forward-over-reverse, perturbation confusion), vmap, and parity with
``torch.func``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
import chainrule.func as F
from chainrule.ops.linalg import linear
from chainrule.tensor import Tensor

from .composites import COMPOSITES, mlp


def _args(shapes: tuple[tuple[int, ...], ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.2, 1.0, s) * rng.choice([-1, 1], s) for s in shapes]


def _t(a: np.ndarray) -> Tensor:
    return Tensor(a, dtype=np.float64)


def _flat(tree: Any) -> list[np.ndarray]:
    if isinstance(tree, (tuple, list)):
        return [a for x in tree for a in _flat(x)]
    if isinstance(tree, dict):
        return [a for k in sorted(tree) for a in _flat(tree[k])]
    return [np.asarray(tree.detach().numpy() if hasattr(tree, "detach") else tree)]


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_jacfwd_equals_jacrev(name: str) -> None:
    fn, shapes = COMPOSITES[name]
    args = [_t(a) for a in _args(shapes)]
    nums = tuple(range(len(args)))
    f = lambda *xs: fn(cr, *xs)  # noqa: E731
    fwd = F.jacfwd(f, argnums=nums)(*args)
    rev = F.jacrev(f, argnums=nums)(*args)
    out = f(*args)
    for a, jf, jr in zip(args, fwd, rev):
        assert jf.shape == jr.shape == (*out.shape, *a.shape)
        np.testing.assert_allclose(jf.array, jr.array, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_jacobian_matches_torch_func(name: str) -> None:
    torch = pytest.importorskip("torch")
    fn, shapes = COMPOSITES[name]
    arrays = _args(shapes)
    nums = tuple(range(len(arrays)))
    ours = F.jacrev(lambda *xs: fn(cr, *xs), argnums=nums)(*[_t(a) for a in arrays])
    ref = torch.func.jacrev(lambda *xs: fn(torch, *xs), argnums=nums)(
        *[torch.tensor(a) for a in arrays])
    for j, r in zip(ours, ref):
        np.testing.assert_allclose(j.array, r.numpy(), rtol=1e-6, atol=1e-9)


def test_notes_example_derivative_is_analytic() -> None:
    x = _t(np.array([-0.5, 0.3, 1.2]))
    d = F.jacfwd(lambda x: 2 / cr.sin(cr.exp(-x)))(x)
    u = np.exp(-x.array)
    np.testing.assert_allclose(np.diag(d.array), 2 * np.cos(u) * u / np.sin(u) ** 2, rtol=1e-12)


# ---- Hessians ---------------------------------------------------------------------------------
def test_hessian_of_quadratic_form() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 4))
    x = _t(rng.standard_normal(4))
    h = F.hessian(lambda x: 0.5 * x @ (_t(a) @ x))(x)
    np.testing.assert_allclose(h.array, (a + a.T) / 2, rtol=1e-12, atol=1e-12)


def test_hessian_of_logsumexp() -> None:
    x = _t(np.array([0.1, -0.4, 0.9]))
    h = F.hessian(lambda x: cr.logsumexp(x, 0))(x)
    p = np.exp(x.array) / np.exp(x.array).sum()
    np.testing.assert_allclose(h.array, np.diag(p) - np.outer(p, p), rtol=1e-10, atol=1e-12)


def test_hessian_of_rosenbrock() -> None:
    x0, y0 = 0.3, -0.7
    h = F.hessian(lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2)(_t(np.array([x0, y0])))
    ref = [[2 - 400 * (y0 - x0 ** 2) + 800 * x0 ** 2, -400 * x0], [-400 * x0, 200]]
    np.testing.assert_allclose(h.array, ref, rtol=1e-12)


def test_hessian_forms_agree_and_hvp() -> None:
    f = lambda x: (cr.sin(x) * x.exp()).sum() * x.norm()  # noqa: E731
    x = _t(np.array([0.3, -1.1, 0.8]))
    h = F.hessian(f)(x)
    np.testing.assert_allclose(h.array, F.jacrev(F.jacrev(f))(x).array, rtol=1e-10)
    np.testing.assert_allclose(h.array, F.jacfwd(F.jacfwd(f))(x).array, rtol=1e-10)
    np.testing.assert_allclose(h.array, F.jacrev(F.jacfwd(f))(x).array, rtol=1e-10)
    v = _t(np.array([1.0, 2.0, -0.5]))
    value, hv = F.hvp(f, (x,), (v,))
    np.testing.assert_allclose(hv.array, h.array @ v.array, rtol=1e-10)
    assert value.item() == pytest.approx(f(x).item())


def test_hessian_of_network_loss_over_parameters_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    arrays = dict(zip(["w1", "b1", "w2"], _args(((4, 3), (4,), (1, 4)), seed=5)))
    xy = _args(((5, 3), (5, 1)), seed=6)

    def loss(M: Any, p: dict[str, Any], x: Any, y: Any) -> Any:
        return ((mlp(M, x, p["w1"], p["b1"], p["w2"]) - y) ** 2).mean()

    ours = F.hessian(lambda p: loss(cr, p, *map(_t, xy)))({k: _t(v) for k, v in arrays.items()})
    ref = torch.func.hessian(lambda p: loss(torch, p, *map(torch.tensor, xy)))(
        {k: torch.tensor(v) for k, v in arrays.items()})
    for k in arrays:
        for m in arrays:
            np.testing.assert_allclose(ours[k][m].array, ref[k][m].numpy(), rtol=1e-8, atol=1e-12)


# ---- composition and API --------------------------------------------------------------------
def test_grad_of_grad_and_higher() -> None:
    x = cr.tensor(0.7, dtype=cr.float64)
    f = lambda x: cr.sin(x) * x  # noqa: E731
    d1, d2, d3 = F.grad(f)(x), F.grad(F.grad(f))(x), F.grad(F.grad(F.grad(f)))(x)
    s, c = np.sin(0.7), np.cos(0.7)
    np.testing.assert_allclose([d1.item(), d2.item(), d3.item()],
                               [s + 0.7 * c, 2 * c - 0.7 * s, -3 * s - 0.7 * c], rtol=1e-12)
    assert not d1.requires_grad and not d2.requires_grad


def test_no_perturbation_confusion() -> None:
    # d/dx [x · d/dy (x·y)] = d/dx x² = 2x, in reverse and in forward mode.
    x, y, one = cr.tensor(3.0), cr.tensor(5.0), cr.tensor(1.0)
    assert F.grad(lambda x: x * F.grad(lambda y: x * y)(y))(x).item() == 6.0
    inner = lambda x: F.jvp(lambda y: x * y, (y,), (one,))[1]  # noqa: E731
    assert F.jvp(lambda x: x * inner(x), (x,), (one,))[1].item() == 6.0


def test_transforms_leave_inputs_untouched() -> None:
    x = cr.tensor([1.0, 2.0])
    F.jvp(lambda x: x * x, (x,), (cr.ones(2),))
    F.hessian(lambda x: (x ** 3).sum())(x)
    assert x._tangents is None and x.grad is None and not x.requires_grad


def test_grad_argnums_has_aux_value_and_grad() -> None:
    def f(x: Tensor, y: Tensor, scale: float) -> tuple[Tensor, Tensor]:
        out = (x * y).sum() * scale
        return out, x + 1

    x, y = cr.tensor([1.0, 2.0]), cr.tensor([3.0, -1.0])
    (gx, gy), aux = F.grad(f, argnums=(0, 1), has_aux=True)(x, y, 2.0)
    np.testing.assert_allclose(gx.array, 2 * y.array)
    np.testing.assert_allclose(gy.array, 2 * x.array)
    np.testing.assert_allclose(aux.array, [2.0, 3.0])
    (value, _), g = F.value_and_grad(f, argnums=1, has_aux=True)(x, y, 1.0)
    assert value.item() == 1.0
    np.testing.assert_allclose(g.array, x.array)
    with pytest.raises(RuntimeError, match="one-element"):
        F.grad(lambda x: x * 2)(x)
    with pytest.raises(TypeError, match="floating"):
        F.grad(lambda x: x.sum())(cr.tensor([1, 2]))


def test_grad_of_dict_parameters_through_functional_call() -> None:
    net = cr.nn.Module()
    net.w = cr.nn.Parameter(cr.tensor([[1.0, -2.0]]))
    net.forward = lambda x: linear(x, net.w)
    params = {"w": cr.tensor([[0.5, 0.5]])}
    x = cr.tensor([[1.0, 3.0], [2.0, 1.0]])
    g = F.grad(lambda p: F.functional_call(net, p, (x,)).sum())(params)
    np.testing.assert_allclose(g["w"].array, [[3.0, 4.0]])
    assert net.w.array.tolist() == [[1.0, -2.0]]  # restored
    with pytest.raises(ValueError, match="no parameter or buffer named 'v'"):
        F.functional_call(net, {"v": x}, (x,))


def test_vjp_jvp_multiple_outputs() -> None:
    f = lambda x, y: (x * y, x.sin())  # noqa: E731
    x, y = cr.tensor([0.5, 1.0]), cr.tensor([2.0, 3.0])
    (a, b), vjp_fn = F.vjp(f, x, y)
    gx, gy = vjp_fn((cr.ones(2), cr.ones(2)))
    np.testing.assert_allclose(gx.array, y.array + np.cos(x.array), rtol=1e-6)
    np.testing.assert_allclose(gy.array, x.array)
    (_, _), (ta, tb) = F.jvp(f, (x, y), (cr.ones(2), cr.zeros(2)))
    np.testing.assert_allclose(ta.array, y.array)
    np.testing.assert_allclose(tb.array, np.cos(x.array), rtol=1e-6)
    with pytest.raises(ValueError, match="tangent shape"):
        F.jvp(cr.sin, (x,), (cr.ones(3),))


def test_jvp_of_function_ignoring_its_input_is_zero() -> None:
    out, t = F.jvp(lambda x: cr.ones(2) * 3, (cr.tensor([1.0, 2.0]),), (cr.ones(2),))
    assert t.array.tolist() == [0.0, 0.0]
    assert F.jacrev(lambda x: cr.ones(2))(cr.ones(3)).shape == (2, 3)


def test_transforms_compose_with_backward() -> None:
    # A gradient penalty: grad of the norm of a functional gradient, by ordinary backward.
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    x = cr.tensor([0.5, 0.25])
    g = F.grad(lambda x: (w * x).sin().sum())(x)
    g.pow(2).sum().backward()
    ref = 2 * np.cos(w.array * x.array) * (np.cos(w.array * x.array) * w.array) * (
        1 - np.tan(w.array * x.array) * w.array * x.array)
    np.testing.assert_allclose(w.grad.array, ref, rtol=1e-5)


# ---- vmap ---------------------------------------------------------------------------------
def test_vmap_in_dims_out_dims_and_nesting() -> None:
    a, b = cr.randn(4, 3), cr.randn(3)
    out = F.vmap(cr.dot, in_dims=(0, None))(a, b)
    np.testing.assert_allclose(out.array, a.array @ b.array, rtol=1e-5)
    out = F.vmap(lambda r: r * 2, in_dims=1, out_dims=1)(a)
    np.testing.assert_allclose(out.array, a.array * 2)
    outer = F.vmap(F.vmap(lambda x, y: x * y, in_dims=(None, 0)), in_dims=(0, None))
    np.testing.assert_allclose(outer(cr.arange(3.0), cr.arange(4.0)).array,
                               np.outer(np.arange(3.0), np.arange(4.0)))
    with pytest.raises(ValueError, match="different sizes"):
        F.vmap(cr.add)(cr.ones(2, 1), cr.ones(3, 1))


def test_vmap_of_grad_gives_per_sample_gradients() -> None:
    w = cr.tensor([0.5, -1.0])
    xs = cr.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
    per = F.vmap(F.grad(lambda w, x: ((w * x).sum() - 1) ** 2), in_dims=(None, 0))(w, xs)
    ref = np.stack([2 * (w.array @ x - 1) * x for x in xs.array])
    np.testing.assert_allclose(per.array, ref, rtol=1e-6)


def test_parity_with_torch_func_on_basic_transforms() -> None:
    torch = pytest.importorskip("torch")
    a = np.array([0.3, -0.8, 1.5])
    v = np.array([1.0, 0.5, -2.0])
    f = lambda M, x: (M.tanh(x) * x.exp()).sum() / (1 + x.norm())  # noqa: E731
    x, tx = _t(a), torch.tensor(a)
    np.testing.assert_allclose(F.grad(lambda x: f(cr, x))(x).array,
                               torch.func.grad(lambda x: f(torch, x))(tx).numpy(), rtol=1e-10)
    ours = F.jvp(lambda x: F.grad(lambda x: f(cr, x))(x), (x,), (_t(v),))[1]
    ref = torch.func.jvp(torch.func.grad(lambda x: f(torch, x)), (tx,), (torch.tensor(v),))[1]
    np.testing.assert_allclose(ours.array, ref.numpy(), rtol=1e-10)
    batch = np.stack([a, v, a * v])
    ours = F.vmap(F.grad(lambda x: f(cr, x)))(_t(batch))
    ref = torch.func.vmap(torch.func.grad(lambda x: f(torch, x)))(torch.tensor(batch))
    np.testing.assert_allclose(ours.array, ref.numpy(), rtol=1e-10)


def test_hessian_and_per_sample_grads_of_an_nn_module_match_torch() -> None:
    torch = pytest.importorskip("torch")
    net = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 1)).double()
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    tnet = tnet.double()
    params = {k: v.detach() for k, v in net.named_parameters()}
    tparams = {k: torch.tensor(v.array) for k, v in params.items()}
    x, y = _args(((6, 3), (6, 1)), seed=8)

    def loss(p: dict[str, Any], x: Tensor, y: Tensor) -> Tensor:
        return ((F.functional_call(net, p, (x,)) - y) ** 2).mean()

    def tloss(p: dict[str, Any], x: Any, y: Any) -> Any:
        return ((torch.func.functional_call(tnet, p, (x,)) - y) ** 2).mean()

    h = F.hessian(loss)(params, _t(x), _t(y))
    th = torch.func.hessian(tloss)(tparams, torch.tensor(x), torch.tensor(y))
    for k in params:
        for m in params:
            np.testing.assert_allclose(h[k][m].array, th[k][m].numpy(), rtol=1e-8, atol=1e-12)
    per = F.vmap(F.grad(loss), in_dims=(None, 0, 0))(params, _t(x), _t(y))
    tper = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))(
        tparams, torch.tensor(x), torch.tensor(y))
    for k in params:
        np.testing.assert_allclose(per[k].array, tper[k].numpy(), rtol=1e-8, atol=1e-12)


def test_jvp_tangent_is_differentiable_by_backward() -> None:
    # d/dw of the tangent J·u of x ↦ sin(w·x): ∂/∂w [cos(w·x)·w·u] = (cos(wx) − wx·sin(wx))·u.
    w = cr.tensor([0.7, -1.2], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([0.4, 0.9], dtype=cr.float64)
    u = cr.tensor([1.0, 2.0], dtype=cr.float64)
    out, t = F.jvp(lambda x: cr.sin(w * x), (x,), (u,))
    assert out.requires_grad and t.requires_grad and out._tangents in (None, {})
    t.sum().backward()
    wx = w.array * x.array
    np.testing.assert_allclose(w.grad.array, (np.cos(wx) - wx * np.sin(wx)) * u.array, rtol=1e-12)


def test_in_place_ops_keep_forward_mode_tangents() -> None:
    def scale(x: Tensor) -> Tensor:
        y = x * 1
        y.mul_(3)
        return y

    def write(x: Tensor) -> Tensor:
        y = cr.zeros(3)
        y[1:] = x
        return y

    x, u = cr.tensor([1.0, 2.0]), cr.tensor([1.0, -1.0])
    assert F.jvp(scale, (x,), (u,))[1].tolist() == [3.0, -3.0]
    x_req = cr.tensor([1.0, 2.0], requires_grad=True)
    assert F.jvp(scale, (x_req,), (u,))[1].tolist() == [3.0, -3.0]
    assert F.jvp(write, (x,), (u,))[1].tolist() == [0.0, 1.0, -1.0]
    np.testing.assert_array_equal(F.jacfwd(write)(x).data, [[0, 0], [1, 0], [0, 1]])
    # jacrev runs the function once, unbatched (only its vjp is vmapped), as torch.func
    np.testing.assert_array_equal(F.jacrev(write)(x).data, [[0, 0], [1, 0], [0, 1]])
    # under an outer vmap, a batched value cannot be written into a tensor shared by the batch
    with pytest.raises(RuntimeError, match="in-place"):
        F.vmap(F.jacrev(write))(cr.stack([x, x]))

    def write_batched(x: Tensor) -> Tensor:
        y = cr.cat([x[:1], x]) * 0
        y[1:] = x
        return y

    np.testing.assert_array_equal(F.jacfwd(write_batched)(x).data,
                                  F.jacrev(write_batched)(x).data)
    np.testing.assert_array_equal(F.jacfwd(write_batched)(x).data, [[0, 0], [1, 0], [0, 1]])


def test_custom_function_in_forward_mode_and_hessian() -> None:
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor) -> Tensor:
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx: Any, g: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    x = cr.tensor(2.0, requires_grad=True)
    assert F.jvp(Cube.apply, (x,), (cr.tensor(1.0),))[1].item() == 12.0
    assert F.hessian(Cube.apply)(cr.tensor(2.0)).item() == 12.0
    assert F.jacfwd(F.jacfwd(Cube.apply))(cr.tensor(2.0)).item() == 12.0


def test_grad_ignores_an_outer_no_grad_but_respects_an_inner_one() -> None:
    x = cr.tensor(3.0, requires_grad=True)
    with cr.no_grad():
        assert F.grad(lambda x: x * x)(x).item() == 6.0

    def f(x: Tensor) -> Tensor:
        with cr.no_grad():
            c = x * x
        return x * c

    assert F.grad(f)(cr.tensor(3.0)).item() == 9.0  # c is a constant


def test_transforms_through_the_fused_lstm_layer_match_torch() -> None:
    torch = pytest.importorskip("torch")
    lstm = cr.nn.LSTM(3, 2).double()
    tlstm = torch.nn.LSTM(3, 2).double()
    params = {k: v.detach() for k, v in lstm.named_parameters()}
    tparams = {k: torch.tensor(v.array) for k, v in params.items()}
    (x,) = _args(((4, 1, 3),), seed=9)

    def f(x: Tensor) -> Tensor:
        return F.functional_call(lstm, params, (x,))[0].tanh().sum()

    def tf(x: Any) -> Any:
        return torch.func.functional_call(tlstm, tparams, (x,))[0].tanh().sum()

    np.testing.assert_allclose(F.jacfwd(f)(_t(x)).array, F.jacrev(f)(_t(x)).array, rtol=1e-10)
    h = F.hessian(f)(_t(x))
    np.testing.assert_allclose(h.array, F.jacrev(F.jacrev(f))(_t(x)).array, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(h.array, torch.func.hessian(tf)(torch.tensor(x)).numpy(),
                               rtol=1e-8, atol=1e-12)
