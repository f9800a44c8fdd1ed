"""binary_cross_entropy at and near saturated probabilities: PyTorch's loss and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("through_sigmoid", [True, False])
def test_saturated_binary_cross_entropy_matches_torch(through_sigmoid: bool) -> None:
    values = [40.0, 20.0, 17.0, 3.0, -3.0, -17.0, -20.0, -40.0] if through_sigmoid else \
        [1.0, 0.0, 1.0 - 1e-7, 1e-7, 0.3, 0.9]
    target = np.resize([0.0, 1.0, 1.0], len(values)).astype(np.float32)
    x = cr.tensor(values, requires_grad=True)
    t = torch.tensor(values, requires_grad=True)
    ours = F.binary_cross_entropy(cr.sigmoid(x) if through_sigmoid else x, cr.tensor(target))
    theirs = torch.nn.functional.binary_cross_entropy(
        torch.sigmoid(t) if through_sigmoid else t, torch.tensor(target))
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)
