"""Parity with PyTorch on an empty batch: convolutions take N = 0 and give an empty output,
an empty input gradient and a zero weight gradient, as PyTorch's do."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

LAYERS = [
    ("Conv1d", (2, 3, 3), {"stride": 2}, (0, 2, 9)),
    ("Conv2d", (2, 3, 3), {}, (0, 2, 8, 8)),
    ("Conv2d", (4, 4, 3), {"groups": 2, "padding": 1}, (0, 4, 5, 5)),
    ("Conv3d", (2, 3, 2), {}, (0, 2, 4, 4, 4)),
    ("ConvTranspose2d", (2, 3, 3), {"stride": 2}, (0, 2, 5, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS)
def test_convolution_on_an_empty_batch_matches_torch(name, args, kwargs, shape):
    ours = getattr(cr.nn, name)(*args, **kwargs)
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    x, tx = cr.zeros(*shape, requires_grad=True), torch.zeros(*shape, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    assert tuple(y.shape) == tuple(ty.shape)
    y.sum().backward()
    ty.sum().backward()
    assert tuple(x.grad.shape) == tuple(tx.grad.shape)
    for p, tp in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        assert tuple(p.grad.shape) == tuple(tp.grad.shape)
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
