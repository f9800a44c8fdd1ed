"""Layer contract, gradients, modes, state and errors for the layers of ``chainrule.nn``."""

from __future__ import annotations

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
from chainrule import nn


def _ints(high: int):
    return lambda rng, s: rng.integers(0, high, s)


def _away(rng, s):
    x = rng.standard_normal(s)
    return np.where(x >= 0, x + 0.1, x - 0.1)  # away from kinks at 0


CASES = [
    (nn.Linear, {"in_features": 4, "out_features": 3}, (5, 4), (5, 3), 15, None),
    (nn.Linear, {"in_features": 4, "out_features": 3, "bias": False}, (2, 6, 4), (2, 6, 3), 12,
     None),
    (nn.Bilinear, {"in1_features": 3, "in2_features": 2, "out_features": 4}, [(5, 3), (5, 2)],
     (5, 4), 28, None),
    (nn.MultiplicativeInteraction, {"x_features": 3, "z_features": 2, "out_features": 4},
     [(5, 3), (5, 2)], (5, 4), 24 + 8 + 12 + 4, None),
    (nn.Identity, {}, (2, 3), (2, 3), 0, None),
    (nn.Flatten, {}, (2, 3, 4), (2, 12), 0, None),
    (nn.Unflatten, {"dim": 1, "unflattened_size": (2, 3)}, (4, 6), (4, 2, 3), 0, None),
    (nn.Embedding, {"num_embeddings": 7, "embedding_dim": 3}, (2, 5), (2, 5, 3), 21, _ints(7)),
    (nn.Embedding, {"num_embeddings": 7, "embedding_dim": 3, "padding_idx": 0}, (4,), (4, 3),
     21, _ints(7)),
    (nn.BatchNorm1d, {"num_features": 3}, (6, 3), (6, 3), 6, None),
    (nn.BatchNorm1d, {"num_features": 3, "affine": False}, (4, 3, 5), (4, 3, 5), 0, None),
    (nn.BatchNorm2d, {"num_features": 2}, (3, 2, 2, 2), (3, 2, 2, 2), 4, None),
    (nn.LayerNorm, {"normalized_shape": 4}, (3, 4), (3, 4), 8, None),
    (nn.LayerNorm, {"normalized_shape": (2, 3), "bias": False}, (2, 2, 3), (2, 2, 3), 6, None),
    (nn.RMSNorm, {"normalized_shape": 4, "eps": 1e-6}, (3, 4), (3, 4), 4, None),
    (nn.ReLU, {}, (3, 4), (3, 4), 0, _away),
    (nn.ReLU6, {}, (3, 4), (3, 4), 0, _away),
    (nn.LeakyReLU, {"negative_slope": 0.2}, (3, 4), (3, 4), 0, _away),
    (nn.ELU, {"alpha": 0.7}, (3, 4), (3, 4), 0, _away),
    (nn.Sigmoid, {}, (3, 4), (3, 4), 0, None),
    (nn.LogSigmoid, {}, (3, 4), (3, 4), 0, None),
    (nn.Tanh, {}, (3, 4), (3, 4), 0, None),
    (nn.Hardtanh, {}, (3, 4), (3, 4), 0, lambda rng, s: rng.choice([-2.0, -0.5, 0.3, 1.7], s)),
    (nn.GELU, {}, (3, 4), (3, 4), 0, None),
    (nn.GELU, {"approximate": "tanh"}, (3, 4), (3, 4), 0, None),
    (nn.SiLU, {}, (3, 4), (3, 4), 0, None),
    (nn.Mish, {}, (3, 4), (3, 4), 0, None),
    (nn.Softplus, {"beta": 2.0}, (3, 4), (3, 4), 0, None),
    (nn.Softsign, {}, (3, 4), (3, 4), 0, _away),
    (nn.Softmax, {"dim": 1}, (3, 4), (3, 4), 0, None),
    (nn.LogSoftmax, {"dim": -1}, (3, 4), (3, 4), 0, None),
    (nn.GLU, {}, (3, 4), (3, 2), 0, None),
    (nn.Dropout, {"p": 0.0}, (3, 4), (3, 4), 0, None),
]


@pytest.mark.parametrize("cls,kwargs,shape,expected,n_params,make", CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_layer_contract(cls, kwargs, shape, expected, n_params, make) -> None:
    check_layer(cls, kwargs, shape, expected, n_params, make_input=make)


# ---- repr -------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,text", [
    (nn.Linear(2, 3), "Linear(in_features=2, out_features=3, bias=True)"),
    (nn.Linear(2, 3, bias=False), "Linear(in_features=2, out_features=3, bias=False)"),
    (nn.Bilinear(2, 3, 4), "Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)"),
    (nn.MultiplicativeInteraction(2, 3, 4),
     "MultiplicativeInteraction(x_features=2, z_features=3, out_features=4, bias=True)"),
    (nn.Dropout(), "Dropout(p=0.5, inplace=False)"),
    (nn.Embedding(10, 3, padding_idx=0), "Embedding(10, 3, padding_idx=0)"),
    (nn.BatchNorm1d(3), "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                        "track_running_stats=True)"),
    (nn.LayerNorm(4), "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    (nn.RMSNorm(4), "RMSNorm((4,), eps=None, elementwise_affine=True)"),
    (nn.Flatten(), "Flatten(start_dim=1, end_dim=-1)"),
    (nn.Unflatten(1, (2, 5)), "Unflatten(dim=1, unflattened_size=(2, 5))"),
    (nn.ReLU(), "ReLU()"),
    (nn.ReLU(inplace=True), "ReLU(inplace=True)"),
    (nn.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
    (nn.ELU(), "ELU(alpha=1.0)"),
    (nn.GELU(), "GELU(approximate='none')"),
    (nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (nn.Softmax(dim=1), "Softmax(dim=1)"),
    (nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
])
def test_repr_matches_pytorch(layer: nn.Module, text: str) -> None:
    assert repr(layer) == text


def test_sequential_repr_nests_layers() -> None:
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.1))
    assert repr(net) == ("Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                         "  (1): ReLU()\n  (2): Dropout(p=0.1, inplace=False)\n)")


# ---- Dropout ----------------------------------------------------------------------------------
def test_dropout_train_zeroes_and_rescales() -> None:
    cr.manual_seed(0)
    drop = nn.Dropout(0.25)
    y = drop(cr.ones(200, 50)).array
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01  # 10,000 draws: 4 standard deviations is ~0.017
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_gradient_uses_the_same_mask() -> None:
    cr.manual_seed(3)
    x = cr.ones(4, 6, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, y.array)


def test_dropout_eval_is_identity_and_seed_reproduces() -> None:
    drop = nn.Dropout(0.5)
    x = cr.randn(3, 4)
    assert drop.eval()(x) is x
    drop.train()
    cr.manual_seed(7)
    a = drop(x).array.copy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(drop(x).array, a)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p: float) -> None:
    with pytest.raises(ValueError, match=str(p)):
        nn.Dropout(p)


def test_dropout_p_one_gives_zeros() -> None:
    assert not nn.Dropout(1.0)(cr.ones(3)).array.any()


# ---- BatchNorm --------------------------------------------------------------------------------
def test_batchnorm_train_uses_batch_stats_and_updates_running() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (64, 3))
    bn = nn.BatchNorm1d(3, momentum=0.2).double()
    y = bn(cr.tensor(x)).array
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-4)  # biased var, eps = 1e-5
    np.testing.assert_allclose(bn.running_mean.array, 0.2 * x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.array, 0.8 + 0.2 * x.var(0, ddof=1), rtol=1e-12)
    assert bn.num_batches_tracked.item() == 1


def test_batchnorm_eval_uses_running_stats() -> None:
    bn = nn.BatchNorm1d(2).double()
    bn.running_mean.array[:] = [1.0, -1.0]
    bn.running_var.array[:] = [4.0, 0.25]
    bn.eval()
    x = np.array([[3.0, 0.0], [1.0, -1.0]])
    y = bn(cr.tensor(x)).array
    np.testing.assert_allclose(y, (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5))
    assert bn.num_batches_tracked.item() == 0  # eval does not count batches


def test_batchnorm_momentum_none_is_cumulative_average() -> None:
    bn = nn.BatchNorm1d(1, momentum=None).double()
    batches = [np.array([[1.0], [3.0]]), np.array([[5.0], [9.0]])]
    for b in batches:
        bn(cr.tensor(b))
    np.testing.assert_allclose(bn.running_mean.array, [(2.0 + 7.0) / 2])


def test_batchnorm_without_running_stats() -> None:
    bn = nn.BatchNorm1d(2, track_running_stats=False)
    assert list(bn.state_dict()) == ["weight", "bias"]
    y = bn.eval()(cr.tensor([[1.0, 2.0], [3.0, 6.0]])).array
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)  # batch statistics even in eval


def test_batchnorm_state_dict_keys_and_errors() -> None:
    bn = nn.BatchNorm1d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    with pytest.raises(ValueError, match="expected 3 channels"):
        bn(cr.zeros(4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(cr.zeros(1, 3))
    with pytest.raises(ValueError, match="2D or 3D"):
        bn(cr.zeros(2, 3, 2, 2))


# ---- Embedding, norms -------------------------------------------------------------------------
def test_embedding_padding_row_is_zero_and_gets_no_gradient() -> None:
    emb = nn.Embedding(5, 2, padding_idx=1)
    assert not emb.weight.array[1].any()
    emb.weight.array[1] = 7.0  # a changed padding row is still returned ...
    out = emb(cr.tensor([[1, 2], [1, 1]]))
    np.testing.assert_array_equal(out.array[0, 0], [7.0, 7.0])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.array[1], [0.0, 0.0])  # ... but not trained
    np.testing.assert_array_equal(emb.weight.grad.array[2], [1.0, 1.0])


def test_embedding_errors_name_the_bad_indices() -> None:
    emb = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"\[7\].*valid: 0\.\.4"):
        emb(cr.tensor([0, 7]))
    with pytest.raises(IndexError, match=r"\[-1\]"):
        emb(cr.tensor([-1, 2]))  # negative indices are errors, as in PyTorch
    with pytest.raises(TypeError, match="integer"):
        emb(cr.tensor([0.0]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 2, padding_idx=5)


def test_embedding_from_pretrained_is_frozen() -> None:
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]])
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(cr.tensor([1])).array, [[3.0, 4.0]])


def test_layernorm_normalises_trailing_dims() -> None:
    x = np.random.default_rng(0).normal(2.0, 3.0, (4, 2, 5))
    y = nn.LayerNorm((2, 5)).double()(cr.tensor(x)).array
    np.testing.assert_allclose(y.reshape(4, -1).mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(y.reshape(4, -1).std(1), 1, atol=1e-5)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        nn.LayerNorm(4)(cr.zeros(2, 5))


def test_rmsnorm_unit_root_mean_square() -> None:
    x = np.random.default_rng(1).normal(0.0, 3.0, (3, 6))
    y = nn.RMSNorm(6).double()(cr.tensor(x)).array
    np.testing.assert_allclose(np.sqrt((y * y).mean(1)), 1, rtol=1e-10)


def test_multiplicative_interaction_formula() -> None:
    mi = nn.MultiplicativeInteraction(3, 2, 4).double()
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    W, U, V, b = (p.array for p in (mi.W, mi.U, mi.V, mi.b))
    want = np.einsum("ni,ijk,nj->nk", x, W, z) + z @ U + x @ V.T + b
    np.testing.assert_allclose(mi(cr.tensor(x), cr.tensor(z)).array, want, rtol=1e-12)
    with pytest.raises(ValueError, match=r"\(5, 2\)"):
        mi(cr.tensor(z), cr.tensor(x))


def test_linear_bad_input_names_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"\(2, 5\).*\(3, 4\)"):
        nn.Linear(4, 3)(cr.zeros(2, 5))


# ---- state_dict -------------------------------------------------------------------------------
def test_state_dict_round_trip_of_a_network() -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(8, 2))

    cr.manual_seed(0)
    a = build()
    a(cr.randn(16, 4))  # move the running statistics
    cr.manual_seed(1)
    b = build()
    b.load_state_dict(a.state_dict())
    assert list(a.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                    "1.running_mean", "1.running_var", "1.num_batches_tracked",
                                    "4.weight", "4.bias"]
    x = cr.randn(5, 4)
    np.testing.assert_array_equal(a.eval()(x).array, b.eval()(x).array)


def test_load_state_dict_mismatches_are_reported() -> None:
    lin = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for weight.*\(3, 4\).*\(3, 2\)"):
        lin.load_state_dict({"weight": np.zeros((3, 4)), "bias": np.zeros(3)})
    with pytest.raises(RuntimeError, match='Missing key.*"bias"'):
        lin.load_state_dict({"weight": np.zeros((3, 2))})
    with pytest.raises(RuntimeError, match='Unexpected key.*"extra"'):
        lin.load_state_dict({"weight": np.zeros((3, 2)), "bias": np.zeros(3),
                             "extra": np.zeros(1)})
    keys = lin.load_state_dict({"weight": np.ones((3, 2))}, strict=False)
    assert keys.missing_keys == ["bias"] and lin.weight.array.sum() == 6
