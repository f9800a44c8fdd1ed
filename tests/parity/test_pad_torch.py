"""``F.pad`` in 'reflect' / 'replicate' / 'circular' mode and Conv1d/Conv2d ``padding_mode``
against PyTorch: values and gradients, with identical weights for the layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from torch_compare import same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")
R = np.random.default_rng(0)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, pad", [
    ((3, 4), (1, 2)), ((2, 3, 4), (3, 0)), ((2, 3, 4), (1, 1, 2, 1)),
    ((2, 3, 4, 5), (1, 1, 1, 2)), ((1, 2, 3, 4, 5), (1, 2, 1, 0, 2, 1)),
    ((2, 3, 4), (-1, 2)), ((2, 3, 4), (2, -1)), ((1, 2, 4, 4), (-1, 1, 1, -2)),
])
def test_pad_matches_torch(mode: str, shape: tuple[int, ...], pad: tuple[int, ...]) -> None:
    same_as_torch(lambda x: cr.nn.functional.pad(x, pad, mode=mode),
                  lambda t: torch.nn.functional.pad(t, pad, mode=mode), R.standard_normal(shape))


@pytest.mark.parametrize("shape, pad", [((2, 3), (-1, 2)), ((2, 3, 4), (1, -2, -1, 0)),
                                        ((1, 2, 3, 4), (-1, -1, 0, 0, 2, -1))])
def test_constant_pad_with_negative_widths_matches_torch(shape: tuple[int, ...],
                                                         pad: tuple[int, ...]) -> None:
    same_as_torch(lambda x: cr.nn.functional.pad(x, pad, value=1.5),
                  lambda t: torch.nn.functional.pad(t, pad, value=1.5), R.standard_normal(shape))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims, kwargs", [
    (1, {"padding": 2}), (1, {"padding": "same", "dilation": 2}),
    (2, {"padding": (1, 2)}), (2, {"padding": "same", "kernel_size": (3, 2)}),
    (2, {"padding": 1, "stride": 2, "groups": 2}),
])
def test_conv_padding_mode_matches_torch(mode: str, dims: int, kwargs: dict[str, Any]) -> None:
    kw = {"kernel_size": 3, **kwargs}
    theirs = getattr(torch.nn, f"Conv{dims}d")(2, 4, padding_mode=mode, **kw).double()
    ours = getattr(cr.nn, f"Conv{dims}d")(2, 4, padding_mode=mode, dtype=cr.float64, **kw)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = R.standard_normal((2, 2) + (6,) * dims)
    same_as_torch(lambda t: ours(t), lambda t: theirs(t), x)
    np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy(), rtol=1e-7,
                               atol=1e-9)
    np.testing.assert_allclose(ours.bias.grad.array, theirs.bias.grad.numpy(), rtol=1e-7,
                               atol=1e-9)
