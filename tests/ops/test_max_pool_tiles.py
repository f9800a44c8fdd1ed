"""max_pool's backward when the windows tile the input exactly (stride = kernel): each upstream
value lands at its window's first maximum, non-finite values included, as a naive loop puts it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F


def _naive_grad(x: np.ndarray, k: tuple[int, ...], g: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    nd = len(k)
    for pos in itertools.product(*(range(m) for m in g.shape)):
        lead, win = pos[:-nd], pos[-nd:]
        box = x[lead + tuple(slice(i * ki, (i + 1) * ki) for i, ki in zip(win, k))]
        first = np.unravel_index(np.argmax(box), box.shape)  # the first maximum
        out[lead + tuple(i * ki + f for i, ki, f in zip(win, k, first))] = g[pos]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn,shape,k", [(F.max_pool1d, (2, 3, 8), (2,)),
                                        (F.max_pool2d, (2, 3, 4, 6), (2, 3)),
                                        (F.max_pool3d, (1, 2, 4, 2, 4), (2, 2, 2))])
def test_tiled_windows_route_each_value_to_its_maximum(fn, shape, k, dtype) -> None:
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal(shape), 1).astype(dtype)  # ties: the first one wins
    t = cr.tensor(x, requires_grad=True)
    y = fn(t, k)
    g = rng.standard_normal(tuple(y.shape)).astype(dtype)
    g.flat[:3] = [np.nan, np.inf, -np.inf]
    y.backward(cr.tensor(g))
    np.testing.assert_array_equal(t.grad.array, _naive_grad(x, k, g))
