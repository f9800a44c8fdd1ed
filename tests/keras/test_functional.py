"""The functional API and subclassed models: graphs with several inputs and outputs, shared
layers, nested models, summary, multi-output compile/fit, weights, custom train_step."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import keras
from chainrule.keras import layers


def two_in_two_out():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(5, activation="relu", name="shared")
    inner_in = keras.Input((5,))
    inner = keras.Model(inner_in, layers.Dense(5, activation="relu")(inner_in), name="inner")
    h = inner(shared(a))
    cls = layers.Dense(3, activation="softmax", name="cls")(h)
    reg = layers.Dense(1, name="reg")(layers.Dense(5, name="hb")(b))
    return keras.Model(inputs=[a, b], outputs={"cls": cls, "reg": reg}), shared, inner


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    xa, xb = rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")
    return [xa, xb], {"cls": (xa[:, 0] > 0).astype(np.int64) + (xa[:, 1] > 0.5),
                      "reg": xb.sum(1, keepdims=True)}


def test_symbolic_shapes_and_graph():
    x = keras.Input((None, 8), dtype="float32")
    assert x.shape == (None, None, 8)
    y = layers.Dense(4)(x)
    assert y.shape == (None, None, 4) and y._keras_history.layer.name.startswith("dense")
    with pytest.raises(TypeError, match="symbolic"):
        bool(y)
    model, shared, inner = two_in_two_out()
    assert model.output_names == ["cls", "reg"] and model.input_names == ["a", "b"]
    # Keras 3 lists this graph's layers in this order (by depth, then first met from outputs)
    assert [la.name for la in model.layers] == ["a", "shared", "b", "inner", "hb", "cls", "reg"]
    assert model.get_layer("inner") is inner and model.get_layer(index=1) is shared
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    assert model.count_params() == 25 + 30 + 18 + 20 + 6


def test_shared_layer_has_one_set_of_weights():
    x1, x2 = keras.Input((3,)), keras.Input((3,))
    d = layers.Dense(2)
    model = keras.Model([x1, x2], [d(x1), d(x2)])
    assert len(d._inbound_nodes) == 2 and model.count_params() == 8
    v = np.ones((1, 3), np.float32)
    o1, o2 = model.predict([v, 2 * v])
    assert np.allclose(2 * (o1 - d.linear.bias.array), o2 - d.linear.bias.array, atol=1e-6)


def test_graph_disconnected_and_bad_inputs():
    a, b = keras.Input((2,)), keras.Input((2,))
    out = layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    model = keras.Model(b, out)
    with pytest.raises(ValueError, match=r"expected shape \(None, 2\), got \(None, 5\)"):
        model.predict(np.zeros((2, 5), np.float32))


def test_summary_has_connected_to_column():
    model, _, _ = two_in_two_out()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in lines[2] and "shared[0][0]" in text and "a[0][0]" in text
    assert "inner (Functional)" in text and "Total params: 99" in text


def test_multi_output_fit_logs_and_loss_weights():
    cr.manual_seed(0)
    model, _, _ = two_in_two_out()
    x, y = data()
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    h = model.fit(x, y, epochs=12, batch_size=16, verbose=0, validation_split=0.25).history
    assert list(h) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "val_loss",
                       "val_cls_loss", "val_reg_loss", "val_cls_accuracy"]
    assert h["loss"][-1] < 0.6 * h["loss"][0]
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)
    p = model.predict({"a": x[0], "b": x[1]})
    assert p["cls"].shape == (64, 3) and np.allclose(p["cls"].sum(1), 1, atol=1e-5)


def test_dict_inputs_generator_and_dataloader():
    from chainrule.data import DataLoader, TensorDataset
    inp = {"u": keras.Input((2,), name="u"), "v": keras.Input((2,), name="v")}
    out = layers.Dense(1)(layers.Dense(4)(inp["u"]))
    out2 = layers.Dense(1)(inp["v"])
    model = keras.Model(inp, [out, out2])
    model.compile("sgd", loss="mse")
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(32, 2)).astype("float32"), rng.normal(size=(32, 2)).astype("float32")
    h = model.fit({"u": u, "v": v}, [u[:, :1], v[:, 1:]], epochs=2, verbose=0).history
    assert set(h) == {"loss", "dense_1_loss", "dense_2_loss"} or "loss" in h

    def gen():
        while True:
            yield {"u": u[:8], "v": v[:8]}, [u[:8, :1], v[:8, 1:]]
    h = model.fit(gen(), steps_per_epoch=3, epochs=2, verbose=0).history
    assert len(h["loss"]) == 2
    seq = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    seq.compile("sgd", "mse")
    loader = DataLoader(TensorDataset(cr.from_numpy(u), cr.from_numpy(u[:, :1])), batch_size=8)
    assert len(seq.fit(loader, epochs=2, verbose=0).history["loss"]) == 2


def test_sample_weight_and_class_weight_match_repeated_samples():
    x = np.array([[1.0], [2.0], [3.0]], np.float32)
    y = np.array([[0.0], [1.0], [1.0]], np.float32)

    def loss_of(**kw):
        cr.manual_seed(0)
        m = keras.Sequential([layers.Dense(1, input_shape=(1,))])
        m.compile("sgd", "mse")
        return m.evaluate(kw.pop("x", x), kw.pop("y", y), verbose=0, **kw), m
    base, m = loss_of()
    w = np.array([1.0, 2.0, 0.0], np.float32)
    weighted, m = loss_of(sample_weight=w)
    pred = m.predict(x)
    assert weighted == pytest.approx(float(((pred - y) ** 2)[:, 0] @ w / 3), rel=1e-5)
    from chainrule.keras.data_adapter import class_weights_to_sample_weights
    assert class_weights_to_sample_weights(np.array([0, 1, 1]), {0: 1.0, 1: 3.0}).tolist() \
        == [1.0, 3.0, 3.0]
    onehot = np.eye(2, dtype=np.float32)[[0, 1, 1]]
    assert class_weights_to_sample_weights(onehot, {0: 2.0, 1: 1.0}).tolist() == [2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="no weight for classes"):
        class_weights_to_sample_weights(np.array([0, 2]), {0: 1.0})


def test_validation_freq():
    m = keras.Sequential([layers.Dense(1, input_shape=(1,))])
    m.compile("sgd", "mse")
    x = np.ones((8, 1), np.float32)
    h = m.fit(x, x, epochs=4, verbose=0, validation_data=(x, x), validation_freq=2).history
    assert len(h["loss"]) == 4 and len(h["val_loss"]) == 2


class MLP(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(16, activation="relu")
        self.drop = layers.Dropout(0.1)
        self.out = layers.Dense(1)

    def call(self, x, training=None):
        return self.out(self.drop(self.hidden(x), training=training))


class CustomStep(MLP):
    seen = 0

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with cr.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        CustomStep.seen += 1
        return {m.name: m.result() for m in self.metrics}


@pytest.mark.parametrize("cls", [MLP, CustomStep])
def test_subclassed_model_built_on_first_call_and_trained(cls):
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 3)).astype("float32")
    y = x @ np.array([[1.0], [-1.0], [0.5]], np.float32)
    model = cls()
    assert not model.built and model.name.startswith(("mlp", "custom_step"))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    h = model.fit(x, y, epochs=15, batch_size=32, verbose=0).history
    assert set(h) == {"loss", "mae"} and h["loss"][-1] < 0.4 * h["loss"][0]
    assert model.built and [la.name for la in model.layers][0].startswith("dense")
    assert len(model.trainable_weights) == 4
    assert cls is MLP or CustomStep.seen == 15 * 4
    model.eval()
    assert np.array_equal(model.predict(x[:4]), model.predict(x[:4]))   # dropout off


def test_jit_compile_matches_eager():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x[:, :1] > 0).astype(np.float32)
    weights = []
    for jit in (False, True):
        cr.manual_seed(0)
        inp = keras.Input((3,))
        model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(
            layers.Dense(8, activation="tanh")(inp)))
        model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=jit)
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_multi_output_metrics_follow_keras_structure():
    model, _, _ = two_in_two_out()
    x, y = data()
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], [keras.metrics.MeanAbsoluteError()]])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "cls_accuracy",
                          "reg_mean_absolute_error"]
    model.compile("sgd", loss="mse", metrics=["mae"])       # a flat list: Keras refuses too
    with pytest.raises(ValueError, match="Invalid `metrics` for a model with 2 outputs"):
        model.evaluate(x, {"cls": np.zeros((64, 3)), "reg": y["reg"]}, verbose=0)


def test_subclass_overriding_train_step_built_from_inputs_and_outputs():
    # the Keras guide's pattern: CustomModel(inputs, outputs) with only train_step overridden
    calls = []

    class CustomModel(keras.Model):
        def train_step(self, data):
            calls.append(1)
            return super().train_step(data)

    inputs = keras.Input(shape=(3,))
    model = CustomModel(inputs, layers.Dense(1)(inputs))
    assert isinstance(model, CustomModel) and type(model).__name__ == "CustomModel"
    assert len(model.layers) == 2 and model.count_params() == 4
    model.compile("sgd", "mse")
    x = np.ones((8, 3), np.float32)
    model.fit(x, x[:, :1], epochs=2, batch_size=4, verbose=0)
    assert len(calls) == 4
    with pytest.raises(TypeError, match="positional argument"):
        MLP(inputs, inputs)      # a subclass with its own __init__ is not a graph model


def test_class_weight_in_fit_equals_the_sample_weights_it_stands_for():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype(np.int64)
    runs = []
    for kw in ({"class_weight": {0: 0.25, 1: 2.0}},
               {"sample_weight": np.where(y == 1, 2.0, 0.25).astype("float32")}):
        cr.manual_seed(0)
        m = keras.Sequential([keras.Input((3,)), layers.Dense(2, activation="softmax")])
        m.compile("sgd", "sparse_categorical_crossentropy")
        runs.append((m.fit(x, y, epochs=2, batch_size=8, verbose=0, **kw).history["loss"],
                     m.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="class_weight needs arrays"):
        runs_model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
        runs_model.compile("sgd", "mse")
        runs_model.fit([(x, y)], class_weight={0: 1.0}, verbose=0)
