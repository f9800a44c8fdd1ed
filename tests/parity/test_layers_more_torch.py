"""Layers PyTorch programs use that sit beside the core ones: PixelShuffle/PixelUnshuffle,
CosineSimilarity, PairwiseDistance, Fold/Unfold, Dropout1d/Dropout3d, Softmax2d; values and
gradients against PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(2)

CASES: dict[str, tuple[Any, list[np.ndarray]]] = {
    "PixelShuffle": (lambda nn: nn.PixelShuffle(3), [RNG.standard_normal((2, 18, 2, 3))]),
    "PixelUnshuffle": (lambda nn: nn.PixelUnshuffle(2), [RNG.standard_normal((2, 3, 4, 6))]),
    "PixelShuffle-unbatched": (lambda nn: nn.PixelShuffle(2),
                               [RNG.standard_normal((4, 2, 2))]),
    "CosineSimilarity": (lambda nn: nn.CosineSimilarity(dim=2),
                         [RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 3, 4))]),
    "PairwiseDistance": (lambda nn: nn.PairwiseDistance(p=3.0, keepdim=True),
                         [RNG.standard_normal((5, 4)), RNG.standard_normal((5, 4))]),
    "Unfold": (lambda nn: nn.Unfold(kernel_size=(2, 3), padding=1, stride=2),
               [RNG.standard_normal((2, 3, 5, 6))]),
    "Fold": (lambda nn: nn.Fold(output_size=(4, 5), kernel_size=2, stride=1),
             [RNG.standard_normal((2, 12, 12))]),
    "Softmax2d": (lambda nn: nn.Softmax2d(), [RNG.standard_normal((2, 3, 2, 2))]),
    "Dropout1d-eval": (lambda nn: nn.Dropout1d(0.5).eval(), [RNG.standard_normal((2, 3, 4))]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_pytorch(name: str) -> None:
    make, arrays = CASES[name]
    results = []
    for lib in (cr, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = make(lib.nn)(*xs)
        weights = lib.tensor(np.arange(1.0, 1.0 + out.numel()).reshape(tuple(out.shape)))
        (out * weights).sum().backward()
        results.append([out.detach().numpy(), *(x.grad.numpy() for x in xs)])
    for mine, theirs in zip(*results):
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    assert repr(make(cr.nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("name,shape", [("Dropout1d", (4, 16, 5)), ("Dropout3d", (4, 16, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(name: str, shape: tuple[int, ...]) -> None:
    cr.manual_seed(0)
    y = getattr(cr.nn, name)(0.5)(cr.ones(*shape)).numpy()
    per_channel = y.reshape(shape[0], shape[1], -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # one draw per channel
    assert 0 < (per_channel[..., 0] == 0).mean() < 1
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        cr.nn.functional.dropout1d(cr.ones(2, 3, 4, 5))


def test_bad_shapes_name_the_layer() -> None:
    with pytest.raises(RuntimeError, match="pixel_shuffle: expected the channel dim"):
        cr.nn.PixelShuffle(2)(cr.ones(1, 3, 2, 2))
    with pytest.raises(RuntimeError, match="pixel_unshuffle: expected the height and width"):
        cr.nn.PixelUnshuffle(2)(cr.ones(1, 1, 3, 2))
    with pytest.raises(ValueError, match="Softmax2d: expected input of 3 or 4 dims"):
        cr.nn.Softmax2d()(cr.ones(2, 2))
