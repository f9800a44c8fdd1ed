"""``F.pad`` in 'reflect' / 'replicate' / 'circular' mode, ``padding_mode`` of Conv1d and
Conv2d, and the Reflection/Replication/Circular/ConstantPad layers: values on hand-worked rows,
negative widths, forward-mode tangents, the layer contract (with PyTorch's values and reprs),
and PyTorch's errors (unsupported dims, widths too large, ConvTranspose 'zeros' only)."""

from __future__ import annotations

import numpy as np
import pytest
from fwd_check import assert_jvp_matches_fd
from layer_contract import check_layer

import chainrule as cr
import chainrule.nn.functional as F

ROW = cr.arange(4.0).reshape(1, 1, 4)


@pytest.mark.parametrize("mode, pad, want", [
    ("reflect", (2, 3), [2, 1, 0, 1, 2, 3, 2, 1, 0]),
    ("replicate", (2, 3), [0, 0, 0, 1, 2, 3, 3, 3, 3]),
    ("circular", (2, 3), [2, 3, 0, 1, 2, 3, 0, 1, 2]),
    ("circular", (-1, 2), [1, 2, 3, 1, 2]),
    ("circular", (1, -2), [1, 0, 1]),
    ("reflect", (-1, 2), [1, 2, 3, 2, 1]),
    ("replicate", (0, -3), [0]),
    ("constant", (-1, 2), [1, 2, 3, 0, 0]),
    ("constant", (1, -4), [0]),
])
def test_rows(mode: str, pad: tuple[int, int], want: list[int]) -> None:
    assert F.pad(ROW, pad, mode=mode).tolist() == [[[float(v) for v in want]]]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pad", [((2, 3, 4), (1, 2)), ((1, 2, 3, 4), (2, 1, 1, 2)),
                                        ((1, 2, 2, 3, 3), (1, 1, 0, 2, 1, 0))])
def test_tangents(mode: str, shape: tuple[int, ...], pad: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).standard_normal(shape)
    assert_jvp_matches_fd(lambda t: F.pad(t, pad, mode=mode), x)


def test_gradient_sums_the_copies() -> None:
    x = cr.arange(3.0, requires_grad=True)
    F.pad(x.reshape(1, 3), (2, 2), mode="replicate").sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 3.0]


@pytest.mark.parametrize("shape, pad, mode, error, message", [
    ((4,), (1, 1), "reflect", NotImplementedError, r"padding size 2 is not supported for 1D"),
    ((2, 3, 4, 5), (1, 1), "circular", NotImplementedError, r"size 2 .* 4D input"),
    ((2, 3, 4), (1, 1, 1), "replicate", RuntimeError, r"divisible by 2"),
    ((2, 3, 4), (4, 0), "reflect", RuntimeError,
     r"padding \(4, 0\) at dimension 2 of input of shape \(2, 3, 4\) is too large"),
    ((2, 3, 4), (5, 0), "circular", RuntimeError, r"too large for mode 'circular'"),
    ((2, 3, 4), (1, 1), "wrap", NotImplementedError, r"unrecognised padding mode 'wrap'"),
    ((2, 3), (-2, -2), "constant", RuntimeError,
     r"widths \(-2, -2\) crop dimension 1 of input of shape \(2, 3\) to a negative size"),
])
def test_errors(shape: tuple[int, ...], pad: tuple[int, ...], mode: str, error: type,
                message: str) -> None:
    with pytest.raises(error, match=message):
        F.pad(cr.ones(*shape), pad, mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_layer_contract(mode: str) -> None:
    layer = check_layer(cr.nn.Conv2d, {"in_channels": 2, "out_channels": 3, "kernel_size": 3,
                                       "padding": 1, "padding_mode": mode},
                        (1, 2, 4, 5), (1, 3, 4, 5), 3 * 2 * 9 + 3)
    assert f"padding_mode={mode}" in repr(layer)


@pytest.mark.parametrize("padding, length", [(2, 7), ("same", 5), ("valid", 3)])
def test_conv1d_layer_contract(padding: object, length: int) -> None:
    check_layer(cr.nn.Conv1d, {"in_channels": 2, "out_channels": 3, "kernel_size": 3,
                               "padding": padding, "dilation": 1, "padding_mode": "reflect"},
                (2, 2, 5), (2, 3, length), 3 * 2 * 3 + 3)


def test_padding_mode_pads_before_a_padless_convolution() -> None:
    conv = cr.nn.Conv2d(1, 1, 3, padding=(1, 2), padding_mode="circular", bias=False)
    x = cr.randn(1, 1, 4, 4)
    want = F.conv2d(F.pad(x, (2, 2, 1, 1), mode="circular"), conv.weight)
    np.testing.assert_allclose(conv(x).array, want.array, rtol=1e-6)


def test_padding_mode_errors() -> None:
    with pytest.raises(ValueError, match=r"padding_mode must be one of .*got padding_mode='edge'"):
        cr.nn.Conv2d(1, 1, 3, padding_mode="edge")
    with pytest.raises(ValueError, match=r'Only "zeros" padding mode is supported for '
                                         r"ConvTranspose2d"):
        cr.nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="ConvTranspose1d"):
        cr.nn.ConvTranspose1d(1, 1, 3, padding_mode="circular")


@pytest.mark.parametrize("name, padding, shape, out", [
    ("ReflectionPad1d", 2, (2, 3, 4), (2, 3, 8)),
    ("ReflectionPad2d", (1, 0, 2, 1), (1, 2, 4, 4), (1, 2, 7, 5)),
    ("ReflectionPad3d", 1, (1, 2, 3, 3, 3), (1, 2, 5, 5, 5)),
    ("ReplicationPad1d", (0, 3), (3, 2), (3, 5)),
    ("ReplicationPad2d", 2, (2, 3, 3), (2, 7, 7)),
    ("ReplicationPad3d", (1, 1, 0, 0, 2, 0), (2, 2, 2, 2), (2, 4, 2, 4)),
    ("CircularPad1d", 3, (1, 2, 3), (1, 2, 9)),
    ("CircularPad2d", (1, 1, 2, 0), (1, 1, 3, 3), (1, 1, 5, 5)),
    ("CircularPad3d", 1, (1, 1, 2, 2, 2), (1, 1, 4, 4, 4)),
    ("ConstantPad3d", 1, (1, 2, 2, 2), (1, 4, 4, 4)),
    ("ZeroPad3d", (0, 1, 0, 1, 0, 1), (1, 1, 2, 2, 2), (1, 1, 3, 3, 3)),
])
def test_padding_layer_contract(name: str, padding: object, shape: tuple[int, ...],
                                out: tuple[int, ...]) -> None:
    kwargs = {"padding": padding, **({"value": 0.5} if name == "ConstantPad3d" else {})}
    layer = check_layer(getattr(cr.nn, name), kwargs, shape, out, 0)
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape)
    want = getattr(torch.nn, name)(**kwargs)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(layer(cr.tensor(x, dtype=cr.float64)).array, want)
    assert repr(layer) == repr(getattr(torch.nn, name)(**kwargs))


def test_padding_layer_errors() -> None:
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a 4-tuple"):
        cr.nn.ReflectionPad2d((1, 2))
    with pytest.raises(RuntimeError, match="too large for mode 'reflect'"):
        cr.nn.ReflectionPad1d(3)(cr.ones(1, 3))
