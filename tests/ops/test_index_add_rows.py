"""The gradient of integer-array row indexing (``w[idx]``, the embedding lookup): duplicates
summed, negative rows wrapped, any index shape, as ``np.add.at`` computes it."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.ops.movement import IndexAdd


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (0,)])
def test_row_gradient_equals_add_at(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(len(shape))
    w = cr.tensor(rng.standard_normal((6, 3, 2)), requires_grad=True)
    idx = rng.integers(-6, 6, shape)  # duplicates and negative rows
    g = rng.standard_normal((*shape, 3, 2))
    w[cr.tensor(idx)].backward(cr.tensor(g))
    ref = np.zeros((6, 3, 2))
    np.add.at(ref, idx, g)
    np.testing.assert_allclose(w.grad.array, ref, rtol=1e-12, atol=1e-12)


def test_out_of_range_rows_are_refused() -> None:
    g = cr.ones(2, 3)
    for bad in (6, -7):
        with pytest.raises(IndexError, match=f"index_add: index {bad} is out of bounds"):
            IndexAdd.apply(g, shape=(6, 3), index=np.array([0, bad]))
