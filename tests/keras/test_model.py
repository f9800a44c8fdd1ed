"""The Keras front-end: worksheet summary, fit/evaluate/predict, callbacks through fit, stable
softmax cross entropy, errors."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.keras import Input, Sequential, callbacks, layers, losses, optimizers
from chainrule.keras.utils import to_categorical

WORKSHEET_SHAPES = ["(None, 26, 26, 16)", "(None, 24, 24, 32)", "(None, 12, 12, 32)",
                    "(None, 12, 12, 32)", "(None, 4608)", "(None, 128)", "(None, 128)",
                    "(None, 10)"]


def worksheet_model():
    return Sequential([
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPool2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])


def test_worksheet_summary():
    model = worksheet_model()
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    rows = [ln for ln in lines if "(None" in ln]
    assert len(rows) == 8
    assert [r.split(")", 1)[1].strip().rsplit(" ", 1)[0].strip() for r in rows] \
        == WORKSHEET_SHAPES
    assert [r.split()[-1] for r in rows] == ["160", "4,640", "0", "0", "0", "589,952", "0",
                                             "1,290"]
    types = ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [r.split("(", 2)[1].split(")")[0] for r in rows] == types
    assert "Total params: 596,042" in text and "Trainable params: 596,042" in text
    assert "Non-trainable params: 0" in text and model.count_params() == 596_042


def test_keras_default_inits():
    cr.manual_seed(0)
    d = layers.Dense(300)
    d(cr.zeros(2, 100))
    w = d.linear.weight.array
    limit = np.sqrt(6 / 400)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit   # glorot_uniform
    assert np.all(d.linear.bias.array == 0)
    c = layers.Conv2D(8, 3)
    c(cr.zeros(1, 5, 5, 2))
    limit = np.sqrt(6 / (9 * 2 + 9 * 8))
    assert np.abs(c.conv.weight.array).max() <= limit and np.all(c.conv.bias.array == 0)


def _blobs(n=96, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2, 0], [-2, 0], [0, 2.5]])
    return (centres[y] + rng.normal(0, 0.5, (n, 2))).astype(np.float32), y


def test_fit_lowers_loss_and_history():
    cr.manual_seed(0)
    x, y = _blobs()
    model = Sequential([Input((2,)), layers.Dense(16, activation="tanh"),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.05), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, to_categorical(y, 3), epochs=8, batch_size=16, validation_split=0.25,
                     verbose=0)
    h = hist.history
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 8 for v in h.values()) and hist.epoch == list(range(8))
    assert h["loss"][-1] < 0.5 * h["loss"][0] and h["accuracy"][-1] > 0.9
    loss, acc = model.evaluate(x, to_categorical(y, 3), verbose=0)
    assert acc > 0.9 and loss < h["loss"][0]
    p = model.predict(x[:5])
    assert p.shape == (5, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    # sparse labels pick sparse accuracy and the fused sparse loss
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    logs = model.evaluate(x, y, return_dict=True, verbose=0)
    assert logs["acc"] == pytest.approx(acc) and logs["loss"] == pytest.approx(loss, rel=1e-4)


def test_validation_split_takes_last_fraction():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    y = np.zeros((10, 1), np.float32)
    model = Sequential([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    orig = model._test_step
    model._test_step = lambda b: (seen.append(b[0].ravel().tolist()), orig(b))[1]
    trained = []
    orig_t = model._train_step
    model._train_step = lambda b: (trained.extend(b[0].ravel().tolist()), orig_t(b))[1]
    model.fit(x, y, epochs=1, batch_size=4, validation_split=0.3, verbose=0)
    assert seen == [[7.0, 8.0, 9.0]] and sorted(trained) == list(range(7))


def test_softmax_cross_entropy_is_stable_on_saturated_outputs():
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.layers[0].linear.weight.array[...] = [[500, 0], [-500, 0], [0, 0]]
    x = np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32)
    y = np.array([[0, 1, 0], [1, 0, 0]], np.float32)      # confidently wrong
    loss = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and loss == pytest.approx(1000, rel=1e-3)
    hist = model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
    assert np.all(np.isfinite(model.layers[0].linear.weight.array))
    # the unfused probability-space loss clips instead: finite, but capped at -log(1e-7)
    z = cr.tensor(model.predict(x))
    assert float(losses.categorical_crossentropy(cr.tensor(y), z).max().item()) < 16.2


def test_binary_sigmoid_fused_and_metrics():
    cr.manual_seed(1)
    x, y = _blobs(64)
    yb = (y == 0).astype(np.float32).reshape(-1, 1)
    model = Sequential([layers.Dense(8, activation="relu", input_shape=(2,)),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.RMSprop(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(x, yb, epochs=6, batch_size=16, verbose=0).history
    assert h["accuracy"][-1] > 0.9 and model._fused is not None


def test_callbacks_through_fit(tmp_path):
    pytest.importorskip("safetensors")
    cr.manual_seed(0)
    x, y = _blobs(48)
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile(optimizer=optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    es = callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    ck = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.safetensors"),
                                   save_weights_only=True)
    best = callbacks.ModelCheckpoint(str(tmp_path / "best.safetensors"), monitor="val_accuracy",
                                     save_best_only=True)
    hist = model.fit(x, y, epochs=10, validation_data=(x, y), callbacks=[es, ck, best],
                     verbose=0)
    assert len(hist.history["loss"]) == 2          # lr 0: no improvement → stop after patience
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.safetensors",
                                                          "w-01.safetensors",
                                                          "w-02.safetensors"]
    before = model.get_weights()
    model.set_weights([w + 1 for w in before])
    model.load_weights(tmp_path / "w-01.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_lr_callbacks_reach_the_keras_optimizer():
    x, y = _blobs(32)
    model = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
    opt = optimizers.Adam()
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda e: 0.1 / (e + 1))])
    assert opt.learning_rate == pytest.approx(0.1 / 3)
    assert opt.inner.param_groups[0]["lr"] == pytest.approx(0.1 / 3)


def test_keras_optimizer_defaults():
    w = cr.nn.Parameter(cr.zeros(2))
    cases = {optimizers.Adam(): ("Adam", {"lr": 1e-3, "eps": 1e-7, "betas": (0.9, 0.999)}),
             optimizers.SGD(momentum=0.9, nesterov=True): ("SGD", {"lr": 0.01, "momentum": 0.9,
                                                                  "nesterov": True}),
             optimizers.RMSprop(): ("RMSprop", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7}),
             optimizers.Adagrad(): ("Adagrad", {"lr": 1e-3, "initial_accumulator_value": 0.1}),
             optimizers.Adadelta(): ("Adadelta", {"lr": 1e-3, "rho": 0.95, "eps": 1e-7}),
             optimizers.Adamax(): ("Adamax", {"lr": 1e-3, "eps": 1e-7}),
             optimizers.Nadam(): ("NAdam", {"lr": 1e-3, "eps": 1e-7})}
    for opt, (cls, expected) in cases.items():
        opt.bind([w])
        assert type(opt.inner).__name__ == cls
        for k, v in expected.items():
            assert opt.inner.param_groups[0][k] == v, (cls, k)
    assert isinstance(optimizers.get("nadam"), optimizers.Nadam)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("adamm")


def test_errors_name_layer_and_shapes():
    model = worksheet_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"layer 'conv2d\w*' \(Conv2D\).*expected ndim=4, "
                                         r"found ndim=3. Full shape received: \(None, 28, 28\)"):
        model.predict(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"x and y must have the same number of samples, got x "
                                         r"with shape \(5, 28, 28, 1\) and y with shape "
                                         r"\(4, 10\)"):
        model.fit(np.zeros((5, 28, 28, 1)), np.zeros((4, 10)), verbose=0)
    d = layers.Dense(4)
    d(cr.zeros(2, 3))
    with pytest.raises(ValueError, match=r"layer 'dense\w*'.*built for inputs of shape "
                                         r"\(None, 3\), got \(None, 5\)"):
        d(cr.zeros(2, 5))
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        layers.Dense(3, activation="relux")
    with pytest.raises(ValueError, match="y_true has shape"):
        m = Sequential([layers.Dense(3, activation="softmax", input_shape=(2,))])
        m.compile(loss="categorical_crossentropy")
        m.fit(np.zeros((4, 2)), np.zeros(4), verbose=0)
    with pytest.raises(RuntimeError, match="compile"):
        Sequential([layers.Dense(1, input_shape=(2,))]).fit(np.zeros((2, 2)), np.zeros(2))


def test_to_categorical():
    assert to_categorical([1, 0, 2]).tolist() == [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert to_categorical(np.array([[3]]), 5).shape == (1, 5)
    with pytest.raises(ValueError, match="out of range"):
        to_categorical([3], 2)


def test_call_training_flag_is_per_call():
    model = Sequential([layers.Dropout(0.5, input_shape=(100,))])
    model.eval()
    x = np.ones((4, 100), np.float32)
    assert (model(x, training=True).array == 0).any() and not model.training
    assert np.array_equal(model(x).array, x)
