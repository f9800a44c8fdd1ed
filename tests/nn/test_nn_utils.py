"""``nn.utils``: gradient clipping (against PyTorch), flat parameter vectors, penalties."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import utils


def _params_with_grads(grads):
    ps = []
    for g in grads:
        p = nn.Parameter(cr.zeros(*np.shape(g), dtype=cr.float64))
        p.grad = cr.tensor(np.array(g, dtype=np.float64))
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_returns_total_and_scales(norm_type) -> None:
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ps = _params_with_grads(grads)
    flat = np.concatenate([g.ravel() for g in grads])
    total = np.abs(flat).max() if math.isinf(norm_type) else (np.abs(flat) ** norm_type).sum() ** (
        1 / norm_type)
    got = utils.clip_grad_norm_(ps, 0.5, norm_type)
    assert got.item() == pytest.approx(total)
    coef = 0.5 / (total + 1e-6)
    for p, g in zip(ps, grads):
        np.testing.assert_allclose(p.grad.array, g * coef, rtol=1e-12)


def test_clip_grad_norm_leaves_small_gradients() -> None:
    ps = _params_with_grads([[0.1, 0.2]])
    assert utils.clip_grad_norm_(ps, 1.0).item() == pytest.approx(math.sqrt(0.05))
    np.testing.assert_array_equal(ps[0].grad.array, [0.1, 0.2])
    p = nn.Parameter(cr.zeros(2))
    assert utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all


def test_clip_grad_norm_nonfinite() -> None:
    ps = _params_with_grads([[1.0, np.nan]])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert math.isnan(utils.clip_grad_norm_(ps, 1.0).item())


def test_clip_grad_value() -> None:
    ps = _params_with_grads([[-3.0, 0.5, 2.0]])
    utils.clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.array, [-1.0, 0.5, 1.0])


def test_clipping_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((4, 3)) * 3, rng.standard_normal(3)]
    ours = _params_with_grads(grads)
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    a = utils.clip_grad_norm_(ours, 1.3)
    b = torch.nn.utils.clip_grad_norm_(theirs, 1.3)
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.array, t.grad.numpy(), rtol=1e-12)


def test_vector_round_trip() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    vec = utils.parameters_to_vector(net.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    np.testing.assert_array_equal(vec.array[:12], net[0].weight.array.ravel())
    utils.vector_to_parameters(vec * 2, net.parameters())
    np.testing.assert_array_equal(utils.parameters_to_vector(net.parameters()).array,
                                  vec.array * 2)
    with pytest.raises(ValueError, match="26 elements"):
        utils.vector_to_parameters(cr.zeros(5), net.parameters())


def test_parameters_to_vector_is_differentiable() -> None:
    lin = nn.Linear(2, 2)
    (utils.parameters_to_vector(lin.parameters()) ** 2).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.array, 2 * lin.weight.array, rtol=1e-6)


def test_penalties_values_and_gradients() -> None:
    a = cr.tensor([1.0, -2.0], dtype=cr.float64, requires_grad=True)
    b = cr.tensor([[3.0]], dtype=cr.float64, requires_grad=True)
    assert utils.l1_penalty([a, b]).item() == 6.0
    assert utils.l2_penalty([a, b]).item() == 14.0
    assert utils.l2_penalty([a, b], squared=False).item() == pytest.approx(math.sqrt(14))
    (0.1 * utils.l1_penalty([a, b]) + 0.5 * utils.l2_penalty([a, b])).backward()
    np.testing.assert_allclose(a.grad.array, [0.1 + 1.0, -0.1 - 2.0])
    np.testing.assert_allclose(b.grad.array, [[0.1 + 3.0]])
    assert cr.autograd.gradcheck(lambda x, y: utils.l2_penalty([x, y], squared=False), [a, b])


def test_l2_penalty_as_weight_decay() -> None:
    """loss + λ‖θ‖² under plain gradient descent shrinks the weights by (1 − 2ηλ) per step."""
    w = nn.Parameter(cr.tensor([1.0, -4.0], dtype=cr.float64))
    lam, lr = 0.1, 0.5
    for _ in range(3):
        w.grad = None
        (lam * utils.l2_penalty([w])).backward()
        with cr.no_grad():
            w.array -= lr * w.grad.array
    np.testing.assert_allclose(w.array, np.array([1.0, -4.0]) * (1 - 2 * lr * lam) ** 3)


def test_get_total_norm_and_clip_grads_with_norm_match_torch() -> None:
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        ws = [lib.nn.Parameter(lib.tensor(np.array(v, dtype=np.float32)))
              for v in ([3.0, 4.0], [1.0, 2.0, 2.0])]
        for w in ws:
            w.grad = w.detach() * 1
        total = lib.nn.utils.get_total_norm([w.grad for w in ws], 3.0)
        lib.nn.utils.clip_grads_with_norm_(ws, 2.0, total)
        results.append([float(total), *(w.grad.tolist() for w in ws)])
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    with pytest.raises(RuntimeError, match="non-finite"):
        cr.nn.utils.get_total_norm([cr.tensor([float("inf")])], error_if_nonfinite=True)


def test_clip_grad_norm_reads_an_iterator_of_parameters_once() -> None:
    w = nn.Parameter(cr.zeros(2))
    w.grad = cr.tensor([3.0, 4.0])
    assert utils.clip_grad_norm_(iter([w]), 1.0).item() == 5.0
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.8], rtol=1e-6)
