"""``nn.init`` and the layers' default initialisations: distributions (fixed seeds, large
tensors) against PyTorch's formulas, seeding, and in-place/no-graph behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import init


def _uniform_ok(arr: np.ndarray, bound: float) -> None:
    """Samples of U(−bound, bound): inside the bounds, reaching near them, right moments."""
    assert np.abs(arr).max() <= bound
    assert np.abs(arr).max() > 0.98 * bound
    n = arr.size
    assert abs(arr.mean()) < 5 * bound / math.sqrt(3 * n)
    assert abs(arr.std() / (bound / math.sqrt(3)) - 1) < 0.02


def _normal_ok(arr: np.ndarray, std: float, mean: float = 0.0) -> None:
    n = arr.size
    assert abs(arr.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(arr.std() / std - 1) < 0.02
    # the tails of a normal, not of a uniform: ~0.27% beyond 3 std
    assert 0.001 < (np.abs(arr - mean) > 3 * std).mean() < 0.005


def test_linear_default_init_is_pytorchs() -> None:
    cr.manual_seed(0)
    lin = nn.Linear(400, 300)
    _uniform_ok(lin.weight.array, 1 / math.sqrt(400))  # kaiming_uniform_(a=√5)
    assert np.abs(lin.bias.array).max() <= 1 / math.sqrt(400)
    assert lin.weight.dtype == cr.float32 and lin.weight.requires_grad


def test_bilinear_and_multiplicative_default_init() -> None:
    cr.manual_seed(0)
    bil = nn.Bilinear(64, 30, 40)
    _uniform_ok(bil.weight.array, 1 / 8)
    mi = nn.MultiplicativeInteraction(64, 25, 40)
    _uniform_ok(mi.W.array, 1 / 8)
    _uniform_ok(mi.U.array, 1 / 5)
    _uniform_ok(mi.V.array, 1 / 8)


def test_embedding_and_norm_default_init() -> None:
    cr.manual_seed(0)
    _normal_ok(nn.Embedding(1000, 50).weight.array, 1.0)
    bn = nn.BatchNorm1d(5)
    assert (bn.weight.array == 1).all() and (bn.bias.array == 0).all()
    assert (bn.running_var.array == 1).all() and (bn.running_mean.array == 0).all()
    ln = nn.LayerNorm(5)
    assert (ln.weight.array == 1).all() and (ln.bias.array == 0).all()


@pytest.mark.parametrize("shape,fans", [((30, 20), (20, 30)), ((8, 4, 3, 3), (36, 72)),
                                        ((6, 2, 5), (10, 30))])
def test_fan_in_and_fan_out(shape, fans) -> None:
    assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == fans


def test_fan_needs_two_dims() -> None:
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(cr.empty(5))


@pytest.mark.parametrize("name,param,gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75),
])
def test_calculate_gain(name, param, gain) -> None:
    assert init.calculate_gain(name, param) == pytest.approx(gain)


def test_calculate_gain_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


def test_xavier_and_kaiming_distributions() -> None:
    cr.manual_seed(1)
    w = cr.empty(300, 200)
    _uniform_ok(init.xavier_uniform_(w, gain=2.0).array, 2.0 * math.sqrt(6 / 500))
    _normal_ok(init.xavier_normal_(w).array, math.sqrt(2 / 500))
    _uniform_ok(init.kaiming_uniform_(w, nonlinearity="relu").array, math.sqrt(6 / 200))
    _uniform_ok(init.kaiming_uniform_(w, a=0.1, mode="fan_out").array,
                math.sqrt(2 / 1.01) * math.sqrt(3 / 300))
    _normal_ok(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu").array,
               math.sqrt(2 / 300))
    conv = cr.empty(64, 16, 3, 3)
    _normal_ok(init.kaiming_normal_(conv, nonlinearity="relu").array, math.sqrt(2 / 144))


def test_kaiming_rejects_bad_mode() -> None:
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_uniform_(cr.empty(3, 3), mode="fan_avg")


def test_basic_fills() -> None:
    cr.manual_seed(2)
    t = cr.empty(200, 300)
    _uniform_ok(init.uniform_(t, -0.3, 0.3).array, 0.3)
    _normal_ok(init.normal_(t, 1.0, 0.5).array, 0.5, mean=1.0)
    assert (init.constant_(t, 2.5).array == 2.5).all()
    assert (init.zeros_(t).array == 0).all() and (init.ones_(t).array == 1).all()
    np.testing.assert_array_equal(init.eye_(cr.empty(2, 3)).array, np.eye(2, 3))
    tn = init.trunc_normal_(t, std=1.0, a=-1.0, b=0.5).array
    assert tn.min() >= -1.0 and tn.max() <= 0.5


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2)])
def test_orthogonal(shape) -> None:
    cr.manual_seed(3)
    w = init.orthogonal_(cr.empty(*shape, dtype=cr.float64), gain=2.0).array
    flat = w.reshape(shape[0], -1)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(flat.shape)), atol=1e-12)


def test_init_is_in_place_without_graph_and_reproducible() -> None:
    p = nn.Parameter(cr.zeros(3, 4))
    v = p._version
    out = init.normal_(p)
    assert out is p and p.grad_fn is None and p.requires_grad and p._version > v
    cr.manual_seed(5)
    a = init.kaiming_uniform_(cr.empty(3, 4)).array.copy()
    cr.manual_seed(5)
    np.testing.assert_array_equal(init.kaiming_uniform_(cr.empty(3, 4)).array, a)
    g1, g2 = cr.Generator(9), cr.Generator(9)
    np.testing.assert_array_equal(init.normal_(cr.empty(5), generator=g1).array,
                                  init.normal_(cr.empty(5), generator=g2).array)


def test_same_formulas_as_torch() -> None:
    torch = pytest.importorskip("torch")
    for name in ["linear", "tanh", "relu", "selu"]:
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert init.calculate_gain("leaky_relu", 0.3) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", 0.3))
    tw = torch.empty(64, 16, 3, 3)
    assert init._calculate_fan_in_and_fan_out(cr.empty(64, 16, 3, 3)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(tw)
    torch.manual_seed(0)
    cr.manual_seed(0)
    ours, theirs = nn.Linear(500, 400), torch.nn.Linear(500, 400)
    for a, b in [(ours.weight, theirs.weight), (ours.bias, theirs.bias)]:
        b = b.detach().numpy()
        assert np.abs(a.array).max() == pytest.approx(np.abs(b).max(), rel=0.01)
        assert np.abs(a.array).max() <= 1 / math.sqrt(500) and np.abs(b).max() <= 1 / math.sqrt(500)
        assert a.array.std() == pytest.approx(b.std(), rel=0.1)
