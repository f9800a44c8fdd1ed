"""``keras.activations``: every function Keras 3 names, with its arguments, against real Keras
(torch backend) where installed; names round-trip through get/serialize/deserialize."""

from __future__ import annotations

import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import activations

CALLS = [("relu", {}), ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.5}),
         ("relu", {"max_value": 1.0}), ("sigmoid", {}), ("tanh", {}), ("elu", {"alpha": 0.5}),
         ("selu", {}), ("gelu", {}), ("gelu", {"approximate": True}), ("silu", {}),
         ("swish", {}), ("softplus", {}), ("softsign", {}), ("exponential", {}), ("mish", {}),
         ("relu6", {}), ("hard_sigmoid", {}), ("hard_silu", {}), ("hard_swish", {}),
         ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}), ("log_sigmoid", {}),
         ("celu", {"alpha": 0.7}), ("glu", {}), ("hard_tanh", {}), ("hard_shrink", {}),
         ("soft_shrink", {"threshold": 0.3}), ("tanh_shrink", {}), ("squareplus", {"b": 2}),
         ("sparse_plus", {}), ("sparse_sigmoid", {}), ("softmax", {}),
         ("log_softmax", {"axis": 0}), ("linear", {})]
X = np.linspace(-4, 4, 24).reshape(3, 8).astype(np.float32)


@pytest.mark.parametrize(("name", "kwargs"), CALLS,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CALLS)])
def test_matches_keras(name: str, kwargs: dict) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    mine = getattr(activations, name)(cr.tensor(X), **kwargs).numpy()
    theirs = np.asarray(keras.ops.convert_to_numpy(getattr(keras.activations, name)(X, **kwargs)))
    np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_threshold_and_names_round_trip() -> None:
    x = cr.tensor([0.5, 2.0])
    assert activations.threshold(x, 1.0, -1.0).tolist() == [-1.0, 2.0]
    for name, fn in activations.ACTIVATIONS.items():
        assert activations.get(name) is fn
        assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.serialize(activations.swish) == "silu"
    with pytest.raises(ValueError, match="Unknown activation"):
        activations.get("nope")


def test_sparsemax_is_the_projection_onto_the_simplex() -> None:
    # (compared with the definition: Keras 3.x's torch-backend sparsemax rows do not sum to 1)
    z = np.array([[0.5, 1.5, 0.1, -2.0], [3.0, 0.0, 0.0, 0.0], [0.2, 0.2, 0.2, 0.2]])
    got = activations.sparsemax(cr.tensor(z)).numpy()
    for row, p in zip(z, got):
        srt = np.sort(row)[::-1]
        k = max(i for i in range(1, len(row) + 1) if 1 + i * srt[i - 1] > srt[:i].sum())
        want = np.maximum(row - (srt[:k].sum() - 1) / k, 0)
        np.testing.assert_allclose(p, want, atol=1e-12)
        assert abs(p.sum() - 1) < 1e-12
