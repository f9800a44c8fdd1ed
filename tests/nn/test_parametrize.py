"""``nn.utils.parametrize``, ``nn.utils.parametrizations.weight_norm/spectral_norm`` and the
hook-based ``nn.utils.weight_norm``: the layer contract of parametrized layers, PyTorch's
state_dict keys, assignment through ``right_inverse``, caching and removal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import parametrize, remove_weight_norm, weight_norm
from chainrule.nn.utils.parametrizations import spectral_norm
from chainrule.nn.utils.parametrizations import weight_norm as pweight_norm


def ParametrizedLinear(**kwargs: Any) -> nn.Module:  # noqa: N802 - named for the repr check
    return pweight_norm(nn.Linear(**kwargs))


def ParametrizedConv2d(**kwargs: Any) -> nn.Module:  # noqa: N802
    return spectral_norm(nn.Conv2d(**kwargs))


def Conv1d(**kwargs: Any) -> nn.Module:  # noqa: N802
    return weight_norm(nn.Conv1d(**kwargs), dim=None)


def test_layer_contracts() -> None:
    check_layer(ParametrizedLinear, {"in_features": 4, "out_features": 3}, (2, 4), (2, 3),
                3 + 12 + 3)
    check_layer(Conv1d, {"in_channels": 2, "out_channels": 3, "kernel_size": 2}, (2, 2, 5),
                (2, 3, 4), 1 + 12 + 3)
    # power iteration moves u and v at every training-mode call, so finite differences are
    # taken in eval mode below
    check_layer(ParametrizedConv2d, {"in_channels": 2, "out_channels": 3, "kernel_size": 2},
                (1, 2, 4, 4), (1, 3, 3, 3), 24 + 3, gradcheck=False)


def test_spectral_norm_gradcheck_in_eval_mode() -> None:
    cr.manual_seed(0)
    m = spectral_norm(nn.Linear(4, 3)).double().eval()
    x = cr.tensor(np.random.default_rng(0).standard_normal((2, 4)), requires_grad=True)
    assert cr.autograd.gradcheck(lambda x, *p: m(x), [x, *m.parameters()])


def test_state_dict_keys_and_class() -> None:
    m = pweight_norm(nn.Linear(4, 3))
    assert type(m).__name__ == "ParametrizedLinear"
    assert parametrize.type_before_parametrizations(m) is nn.Linear
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original0",
                                    "parametrizations.weight.original1"]
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")
    s = spectral_norm(nn.Linear(4, 3))
    assert list(s.state_dict()) == ["bias", "parametrizations.weight.original",
                                    "parametrizations.weight.0._u",
                                    "parametrizations.weight.0._v"]


def test_weight_norm_keeps_the_weight_and_trains_g_and_v() -> None:
    lin = nn.Linear(4, 3)
    before = lin.weight.array.copy()
    m = pweight_norm(lin)
    np.testing.assert_allclose(m.weight.array, before, rtol=1e-6)
    g = m.parametrizations.weight.original0
    np.testing.assert_allclose(g.array[:, 0], np.linalg.norm(before, axis=1), rtol=1e-6)
    m(cr.randn(2, 4)).sum().backward()
    assert g.grad is not None and m.parametrizations.weight.original1.grad is not None


def test_spectral_norm_has_unit_spectral_norm() -> None:
    m = spectral_norm(nn.Linear(6, 5), n_power_iterations=20)
    np.testing.assert_allclose(np.linalg.svd(m.weight.array, compute_uv=False)[0], 1.0,
                               rtol=1e-4)


def test_assignment_goes_through_right_inverse() -> None:
    m = pweight_norm(nn.Linear(3, 2))
    target = cr.tensor([[3.0, 0.0, 4.0], [1.0, 1.0, 1.0]])
    m.weight = target
    np.testing.assert_allclose(m.parametrizations.weight.original0.array[:, 0],
                               [5.0, np.sqrt(3)], rtol=1e-6)
    np.testing.assert_allclose(m.weight.array, target.array, rtol=1e-6)


def test_chained_parametrizations_and_removal() -> None:
    class Double(nn.Module):
        def forward(self, x: cr.Tensor) -> cr.Tensor:
            return x * 2

        def right_inverse(self, x: cr.Tensor) -> cr.Tensor:
            return x / 2

    lin = nn.Linear(3, 3)
    w = lin.weight.array.copy()
    param = lin.weight
    parametrize.register_parametrization(lin, "weight", Double())
    assert lin.parametrizations.weight.original is param  # optimizers keep their parameter
    np.testing.assert_allclose(param.array, w / 2)
    parametrize.register_parametrization(lin, "weight", Double())
    np.testing.assert_allclose(lin.weight.array, 2 * w)  # originals unchanged, one more x2
    with parametrize.cached():
        assert lin.weight is lin.weight
    assert lin.weight is not lin.weight
    parametrize.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and "parametrizations" not in lin._modules
    assert lin.weight is param
    np.testing.assert_allclose(lin.weight.array, 2 * w)
    wn = pweight_norm(nn.Linear(3, 2))
    value = wn.weight.array.copy()
    parametrize.remove_parametrizations(wn, "weight")
    assert isinstance(wn.weight, nn.Parameter) and list(wn.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(wn.weight.array, value)


def test_old_weight_norm_hooks() -> None:
    m = weight_norm(nn.Linear(4, 3))
    assert list(m.state_dict()) == ["bias", "weight_g", "weight_v"]
    m.weight_g.array[...] *= 2  # the next forward sees the new magnitude
    x = cr.randn(2, 4)
    want = x.array @ (2 * m.weight_v.array).T + m.bias.array
    np.testing.assert_allclose(m(x).array, want, rtol=1e-5, atol=1e-6)
    remove_weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(m(x).array, want, rtol=1e-5, atol=1e-6)


def test_errors() -> None:
    with pytest.raises(ValueError, match="Module 'Linear' does not have a parameter, a buffer, "
                                         "or a parametrized element with name 'kernel'"):
        parametrize.register_parametrization(nn.Linear(2, 2), "kernel", nn.Identity())
    with pytest.raises(ValueError, match="Module Linear does not have a parametrization on "
                                         "weight"):
        parametrize.remove_parametrizations(nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        parametrize.remove_parametrizations(pweight_norm(nn.Linear(2, 2)), "weight", False)
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive, but got "
                                         "n_power_iterations=0"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(3, 2), "weight", nn.Flatten(0))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        weight_norm(weight_norm(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        remove_weight_norm(nn.Linear(2, 2))
