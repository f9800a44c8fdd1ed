"""``keras.ops`` on tensors and in functional graphs; ``keras.utils.plot_model``."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers


def test_ops_eager_and_symbolic():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(keras.ops.concatenate([x, x], axis=-1).numpy(),
                                  np.concatenate([x, x], -1))
    np.testing.assert_allclose(keras.ops.mean(x, axis=1).numpy(), x.mean(1))
    np.testing.assert_allclose(keras.ops.softmax(x).numpy().sum(-1), [1, 1], rtol=1e-6)
    a, b = keras.Input((2,)), keras.Input((3,))
    joined = keras.ops.concatenate([a, b], axis=-1)
    assert joined.shape == (None, 5)
    model = keras.Model([a, b], layers.Dense(1)(keras.ops.relu(joined)))
    assert [type(la).__name__ for la in model.layers] == ["InputLayer", "InputLayer",
                                                          "Concatenate", "Relu", "Dense"]
    u, v = np.ones((4, 2), np.float32), -np.ones((4, 3), np.float32)
    d = model.layers[-1].linear
    expected = np.maximum(np.concatenate([u, v], 1), 0) @ d.weight.array.T + d.bias.array
    np.testing.assert_allclose(model.predict([u, v]), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="cannot be saved"):
        model.get_config()


def test_plot_model_dot_and_image(tmp_path):
    a = keras.Input((3,), name="a")
    h = layers.Dense(4, activation="relu", name="h")(a)
    model = keras.Model(a, layers.Dense(2, name="out")(h))
    dot = keras.utils.model_to_dot(model, show_shapes=True, show_layer_activations=True)
    assert "a (InputLayer)|output shape: (None, 3)" in dot
    assert "h (Dense)|activation: relu|output shape: (None, 4)" in dot
    assert dot.count("->") == 2 and '[label="(None, 4)"]' in dot
    keras.utils.plot_model(model, tmp_path / "m.dot")
    assert (tmp_path / "m.dot").read_text().startswith('digraph "')
    seq = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    assert keras.utils.model_to_dot(seq).count("->") == 1
    with pytest.raises(ValueError, match="rankdir"):
        keras.utils.model_to_dot(model, rankdir="XY")
    pytest.importorskip("graphviz")
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot binary is not installed")
    keras.utils.plot_model(model, tmp_path / "m.png", show_shapes=True)
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"


def test_subclassed_model_cannot_be_plotted():
    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, x):
            return self.d(x)
    m = M()
    m(cr.zeros(1, 2))
    with pytest.raises(ValueError, match="subclassed"):
        keras.utils.model_to_dot(m)
