"""Whole-model ``.keras`` archives and ``.weights.h5`` files: round trips in chainrule, and
files exchanged with Keras 3 itself (PyTorch backend) in both directions."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers

pytest.importorskip("h5py")


def convnet():
    inp = keras.Input((8, 8, 2), name="img")
    h = layers.Conv2D(4, 3, activation="relu", padding="same")(inp)
    h = layers.BatchNormalization()(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(layers.Conv2D(3, (3, 3))(h))
    side = keras.Input((5,), name="side")
    s = layers.Dense(6, activation="tanh")(side)
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(s)
    return keras.Model([inp, side], [cls, reg])


def batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = [rng.normal(size=(n, 8, 8, 2)).astype("float32"),
         rng.normal(size=(n, 5)).astype("float32")]
    return x, [rng.integers(0, 3, n), rng.normal(size=(n, 1)).astype("float32")]


def trained(model, epochs=2):
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae"]])
    x, y = batch()
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model


def test_archive_layout_and_round_trip(tmp_path):
    cr.manual_seed(0)
    model = trained(convnet())
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
    assert config["class_name"] == "Functional" and config["compile_config"]["loss"] == \
        ["sparse_categorical_crossentropy", "mse"]
    assert config["config"]["input_layers"] == [["img", 0, 0], ["side", 0, 0]]
    loaded = keras.models.load_model(path)
    x, y = batch(seed=1)
    for a, b in zip(model.predict(x), loaded.predict(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 4
    before = {k: {n: np.asarray(v) for n, v in s.items()}
              for k, s in model.optimizer.inner.state_dict()["state"].items()}
    after = loaded.optimizer.inner.state_dict()["state"]
    assert before.keys() == after.keys()
    for k in before:
        for n in before[k]:
            np.testing.assert_array_equal(np.asarray(before[k][n]), np.asarray(after[k][n]))
    # training continues identically from the archive
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    loaded.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sequential_nested_and_weights_files(tmp_path):
    cr.manual_seed(0)
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="relu"),
                              layers.Dense(2)], name="inner")
    inp = keras.Input((4,))
    model = keras.Model(inp, layers.Dense(1)(inner(inp)))
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    model.save(tmp_path / "n.keras")
    again = keras.models.load_model(tmp_path / "n.keras", compile=False)
    np.testing.assert_array_equal(model.predict(x), again.predict(x))
    assert isinstance(again.get_layer("inner"), keras.Sequential)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = keras.Model.from_config(model.get_config())
    assert not np.allclose(fresh.predict(x), model.predict(x))
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="expects 1 variables, but the file has 2"):
        bad = keras.Sequential([keras.Input((4,)), layers.Dense(3, use_bias=False)])
        keras.Sequential([keras.Input((4,)), layers.Dense(3)]).save_weights(
            tmp_path / "s.weights.h5")
        bad.load_weights(tmp_path / "s.weights.h5")


def test_layer_get_config_from_config():
    d = layers.Dense(4, activation="relu", use_bias=False, name="d")
    config = d.get_config()
    assert config == {"units": 4, "activation": "relu", "use_bias": False, "name": "d",
                      "trainable": True, "dtype": "float32", "kernel_regularizer": None,
                      "bias_regularizer": None}
    assert layers.Dense.from_config(config).get_config() == config
    from chainrule.keras.serialization import from_config
    keras_entry = {"class_name": "Dense", "config": {
        **config, "kernel_regularizer": None, "dtype": {"class_name": "DTypePolicy"},
        "kernel_initializer": {"class_name": "GlorotUniform"}}}
    e = from_config(keras_entry)
    assert e.units == 4 and not e.use_bias and e.name == "d"
    with pytest.raises(ValueError, match="kernel_constraint=.*not supported"):
        from_config({"class_name": "Dense", "config": {**config, "kernel_constraint": "non_neg"}})


KERAS_WRITE = textwrap.dedent('''
    import os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np, keras
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 2), name="img")
    h = keras.layers.Conv2D(4, 3, activation="relu", padding="same")(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(keras.layers.Conv2D(3, (3, 3))(h))
    side = keras.Input((5,), name="side")
    s = keras.layers.Dense(6, activation="tanh")(side)
    m = keras.Model([inp, side], [keras.layers.Dense(3, activation="softmax", name="cls")(h),
                                  keras.layers.Dense(1, name="reg")(s)])
    m.compile("adam", ["sparse_categorical_crossentropy", "mse"])
    d = np.load(sys.argv[2])
    x, y = [d["x0"], d["x1"]], [d["y0"], d["y1"]]
    m.fit(x, y, verbose=0, epochs=2, batch_size=8)
    m.save(sys.argv[1])
    p = m.predict(x, verbose=0)
    np.savez(sys.argv[1] + ".npz", p0=p[0], p1=p[1])
''')

KERAS_READ = textwrap.dedent('''
    import os, sys
    os.environ["KERAS_BACKEND"] = "torch"
    import numpy as np, keras
    m = keras.models.load_model(sys.argv[1])
    d = np.load(sys.argv[2])
    p = m.predict([d["x0"], d["x1"]], verbose=0)
    np.savez(sys.argv[1] + ".npz", p0=p[0], p1=p[1])
    print(int(m.optimizer.iterations))
''')


def _need_keras():
    # imported in a subprocess only: importing it here would pick its TensorFlow backend
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        pytest.skip("Keras 3 with PyTorch is not installed")


def _keras(script, *args):
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, check=True).stdout


def _data(tmp_path):
    x, y = batch()
    path = tmp_path / "data.npz"
    np.savez(path, x0=x[0], x1=x[1], y0=y[0], y1=y[1])
    return x, path


def _outputs(path):
    d = np.load(str(path) + ".npz")
    return [d["p0"], d["p1"]]


def test_reads_an_archive_written_by_keras(tmp_path):
    _need_keras()
    x, data = _data(tmp_path)
    _keras(KERAS_WRITE, tmp_path / "k.keras", data)
    expected = _outputs(tmp_path / "k.keras")
    model = keras.models.load_model(tmp_path / "k.keras")
    assert [la.name for la in model.layers] == ["img", "conv2d", "batch_normalization",
                                                "max_pooling2d", "conv2d_1", "side",
                                                "flatten", "dense", "cls", "reg"]
    for a, b in zip(model.predict(x), expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # Keras's Adam slots (m, v per weight) become the optimizer's state here
    assert model.optimizer.iterations == 4 and len(model.optimizer.inner.state) == 12


def test_keras_reads_an_archive_written_here(tmp_path):
    _need_keras()
    cr.manual_seed(0)
    x, data = _data(tmp_path)
    model = trained(convnet())
    model.save(tmp_path / "c.keras")
    iterations = _keras(KERAS_READ, tmp_path / "c.keras", data)
    assert int(iterations) == 4          # Keras loaded the optimizer state too
    got = _outputs(tmp_path / "c.keras")
    for a, b in zip(model.predict(x), got):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
