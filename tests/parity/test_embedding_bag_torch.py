"""Parity with PyTorch for ``EmbeddingBag``: with identical weights, every mode, offsets,
include_last_offset, per_sample_weights and padding_idx give PyTorch's outputs and the gradients
of the weight and of the per-sample weights (float64)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

IDX = np.array([1, 2, 4, 5, 4, 3, 2, 9, 1, 1])
CASES = [
    ({}, np.random.default_rng(0).integers(0, 10, (3, 5)), None),
    ({}, IDX, np.array([0, 4, 4, 7])),
    ({"include_last_offset": True}, IDX, np.array([0, 3, 3, 10])),
    ({"padding_idx": 1}, IDX, np.array([0, 2, 8, 9])),
    ({"padding_idx": -9}, np.array([[1, 1, 3], [2, 1, 2]]), None),
]


@pytest.mark.parametrize("mode, weighted", [("sum", False), ("sum", True), ("mean", False),
                                            ("max", False)])  # weights exist for 'sum' only
@pytest.mark.parametrize("kwargs, idx, offsets", CASES)
def test_embedding_bag(mode: str, weighted: bool, kwargs: dict, idx: np.ndarray,
                       offsets: Any) -> None:
    rng = np.random.default_rng(1)
    m = nn.EmbeddingBag(10, 4, mode=mode, dtype=cr.float64, **kwargs)
    tm = torch.nn.EmbeddingBag(10, 4, mode=mode, dtype=torch.float64, **kwargs)
    tm.load_state_dict({"weight": torch.from_numpy(m.weight.array.copy())})
    psw = rng.standard_normal(idx.shape) if weighted else None
    cp = cr.tensor(psw, requires_grad=True) if weighted else None
    tp = torch.tensor(psw, requires_grad=True) if weighted else None
    co = m(cr.tensor(idx), None if offsets is None else cr.tensor(offsets), cp)
    to = tm(torch.tensor(idx), None if offsets is None else torch.tensor(offsets), tp)
    np.testing.assert_allclose(co.array, to.detach().numpy(), atol=1e-12, rtol=1e-10)
    g = rng.standard_normal(tuple(to.shape))
    (co * cr.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(m.weight.grad.array, tm.weight.grad.numpy(), atol=1e-12,
                               rtol=1e-10)
    if weighted:
        np.testing.assert_allclose(cp.grad.array, tp.grad.numpy(), atol=1e-12, rtol=1e-10)
