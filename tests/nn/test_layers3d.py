"""The 3-D layers (``Conv3d``, ``ConvTranspose3d``, ``MaxPool3d``, ``AvgPool3d``,
``BatchNorm3d``) and ``AdaptiveMaxPool1d/2d``: the layer contract, argument errors that name
the operation and the shapes, and behaviour that the contract does not reach."""

from __future__ import annotations

import numpy as np
import pytest
from layer_contract import check_layer

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn


def _distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """No ties, so finite differences through a max are valid."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1


@pytest.mark.parametrize("cls, kwargs, shape, expected, n_params", [
    (nn.Conv3d, {"in_channels": 2, "out_channels": 4, "kernel_size": 2}, (2, 2, 3, 4, 3),
     (2, 4, 2, 3, 2), 4 * 2 * 8 + 4),
    (nn.Conv3d, {"in_channels": 4, "out_channels": 2, "kernel_size": (1, 2, 3), "stride": 2,
                 "padding": 1, "groups": 2, "bias": False}, (1, 4, 3, 4, 5), (1, 2, 3, 3, 3),
     2 * 2 * 6),
    (nn.Conv3d, {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": "same",
                 "dilation": (1, 2, 1)}, (1, 3, 5, 4), (2, 3, 5, 4), 2 * 27 + 2),
    (nn.ConvTranspose3d, {"in_channels": 2, "out_channels": 3, "kernel_size": 2, "stride": 2},
     (1, 2, 2, 3, 2), (1, 3, 4, 6, 4), 2 * 3 * 8 + 3),
    (nn.BatchNorm3d, {"num_features": 3}, (4, 3, 2, 3, 2), (4, 3, 2, 3, 2), 6),
    (nn.AvgPool3d, {"kernel_size": 2, "stride": 1, "padding": 1}, (2, 2, 3, 3, 2),
     (2, 2, 4, 4, 3), 0),
    (nn.AdaptiveAvgPool3d, {"output_size": (2, None, 3)}, (2, 2, 5, 3, 4), (2, 2, 2, 3, 3), 0),
    (nn.InstanceNorm3d, {"num_features": 2, "affine": True}, (2, 2, 3, 2, 3), (2, 2, 3, 2, 3),
     4),
    (nn.InstanceNorm3d, {"num_features": 2}, (2, 3, 2, 3), (2, 3, 2, 3), 0),
])
def test_layer_contract(cls: type, kwargs: dict, shape: tuple, expected: tuple,
                        n_params: int) -> None:
    check_layer(cls, kwargs, shape, expected, n_params)


@pytest.mark.parametrize("cls, kwargs, shape, expected", [
    (nn.MaxPool3d, {"kernel_size": 2, "stride": (1, 2, 2), "ceil_mode": True}, (2, 2, 3, 5, 4),
     (2, 2, 2, 3, 2)),
    (nn.MaxPool3d, {"kernel_size": 3, "padding": 1, "dilation": (1, 1, 2)}, (3, 5, 4, 6),
     (3, 2, 2, 2)),
    (nn.AdaptiveMaxPool2d, {"output_size": (3, None)}, (2, 2, 7, 4), (2, 2, 3, 4)),
    (nn.AdaptiveMaxPool2d, {"output_size": 4}, (2, 3, 5), (2, 4, 4)),
    (nn.AdaptiveMaxPool1d, {"output_size": 3}, (2, 3, 8), (2, 3, 3)),
])
def test_max_pool_layer_contract(cls: type, kwargs: dict, shape: tuple,
                                 expected: tuple) -> None:
    check_layer(cls, kwargs, shape, expected, 0, make_input=_distinct)


def test_return_indices_locate_the_maxima() -> None:
    rng = np.random.default_rng(0)
    x = cr.tensor(_distinct(rng, (2, 3, 4, 5, 6)))
    y, idx = nn.MaxPool3d(2, return_indices=True)(x)
    flat = x.array.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.array.reshape(2, 3, -1), 2),
                                  y.array.reshape(2, 3, -1))
    x2 = cr.tensor(_distinct(rng, (2, 3, 7, 5)))
    y2, idx2 = nn.AdaptiveMaxPool2d((3, 2), return_indices=True)(x2)
    assert idx2.dtype == cr.int64
    np.testing.assert_array_equal(
        np.take_along_axis(x2.array.reshape(2, 3, -1), idx2.array.reshape(2, 3, -1), 2),
        y2.array.reshape(2, 3, -1))


def test_adaptive_max_pool_ties_go_to_the_first_maximum() -> None:
    """A constant cell sends all its gradient to its first (row-major) element."""
    x = cr.ones(1, 1, 4, 4, requires_grad=True)
    y, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)
    y.sum().backward()
    assert idx.tolist() == [[[[0, 2], [8, 10]]]]
    assert x.grad.array.sum() == 4 and x.grad.array[0, 0, 0, 0] == 1


def test_batch_norm3d_running_stats_and_eval() -> None:
    bn = nn.BatchNorm3d(2, momentum=0.5)
    x = cr.randn(3, 2, 2, 3, 4) * 2 + 1
    y = bn(x)
    mean = x.array.mean(axis=(0, 2, 3, 4))
    np.testing.assert_allclose(bn.running_mean.array, 0.5 * mean, rtol=1e-5)
    np.testing.assert_allclose(y.array.mean(axis=(0, 2, 3, 4)), 0, atol=1e-5)
    bn.eval()
    z = bn(x)
    want = (x.array - bn.running_mean.array.reshape(1, 2, 1, 1, 1)) / np.sqrt(
        bn.running_var.array.reshape(1, 2, 1, 1, 1) + bn.eps)
    np.testing.assert_allclose(z.array, want, rtol=1e-5, atol=1e-5)


def test_unbatched_inputs() -> None:
    x = cr.randn(2, 4, 5, 6)
    w = cr.randn(3, 2, 2, 2, 2)
    np.testing.assert_allclose(F.conv3d(x, w).array, F.conv3d(x.unsqueeze(0), w).array[0],
                               rtol=1e-6)
    np.testing.assert_allclose(F.max_pool3d(x, 2).array, F.max_pool3d(x.unsqueeze(0), 2).array[0])
    np.testing.assert_allclose(F.avg_pool3d(x, 2).array, F.avg_pool3d(x.unsqueeze(0), 2).array[0],
                               rtol=1e-6)


def test_errors_name_the_operation_and_shapes() -> None:
    w = cr.randn(2, 3, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"conv3d: expected a 5-D input \(N, C, D, H, W\)"):
        F.conv3d(cr.randn(3, 4, 4), w)
    with pytest.raises(RuntimeError, match=r"conv3d: expected a 5-D weight .* got shape "
                                           r"\(2, 3, 3, 3\)"):
        F.conv3d(cr.randn(1, 3, 4, 4, 4), cr.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"conv3d: input of shape \(1, 2, 4, 4, 4\) and "
                                           r"weight of shape \(2, 3, 3, 3, 3\)"):
        F.conv3d(cr.randn(1, 2, 4, 4, 4), w)
    with pytest.raises(RuntimeError, match=r"conv3d: kernel \(3, 3, 3\) is larger than the "
                                           r"padded input \(2, 4, 4\)"):
        F.conv3d(cr.randn(1, 3, 2, 4, 4), w)
    with pytest.raises(ValueError, match=r"max_pool3d: kernel_size must be an int or a tuple "
                                         r"of 3 ints, got \(2, 2\)"):
        F.max_pool3d(cr.randn(1, 1, 4, 4, 4), (2, 2))
    with pytest.raises(RuntimeError, match=r"avg_pool3d: expected a 4-D or 5-D input"):
        F.avg_pool3d(cr.randn(4, 4, 4), 2)
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected 5D input, got shape"):
        nn.BatchNorm3d(2)(cr.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match=r"adaptive_max_pool2d: output_size must be 2 "
                                         r"positive int\(s\), got \(0, 2\)"):
        F.adaptive_max_pool2d(cr.randn(1, 4, 4), (0, 2))
    with pytest.raises(RuntimeError, match=r"adaptive_max_pool1d: expected a 2-D or 3-D input"):
        F.adaptive_max_pool1d(cr.randn(1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"adaptive_avg_pool3d: output_size must be 3 positive "
                                         r"int\(s\), got \(1, 2\)"):
        F.adaptive_avg_pool3d(cr.randn(1, 4, 4, 4), (1, 2))
    with pytest.raises(RuntimeError, match=r"conv3d: expected all operands to have the same "
                                           r"dtype, but got float64 and float32"):
        F.conv3d(cr.randn(1, 3, 4, 4, 4, dtype=cr.float64), w)
