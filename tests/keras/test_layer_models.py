"""The new layers inside ``Sequential``: masks and training flags reach them, ``fit`` lowers the
loss, ``summary`` counts parameters as Keras does, ``compute_output_shape`` answers without
data."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule.keras import Input, Sequential, layers
from chainrule.keras.optimizers import Adam


def test_augmented_convnet_trains_and_counts_parameters_as_keras():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((64, 12, 12, 1)).astype(np.float32)
    y = (rng.random(64) < 0.5).astype(np.float32)[:, None]
    x[y[:, 0] == 1, :6] += 0.5                  # class 1: a brighter top half
    model = Sequential([
        Input((12, 12, 1)), layers.RandomFlip("horizontal"), layers.RandomRotation(0.05),
        layers.Rescaling(2.0, -1.0),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.BatchNormalization(), layers.SeparableConv2D(8, 3, padding="same"),
        layers.MaxPooling2D(padding="same"), layers.Dropout(0.2),
        layers.GlobalAveragePooling2D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(0.01), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history
    assert hist["loss"][-1] < 0.2 * hist["loss"][0]
    assert model.count_params() == 265          # Keras 3: 80 + 32 + 144 + 9
    before = model.predict(x[:4])
    assert np.array_equal(before, model.predict(x[:4]))   # augmentation off in predict


def test_masked_text_model_trains():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, 10, (96, 7))
    tokens[::2, 4:] = 0
    y = (tokens[:, 0] > 5).astype(np.float32)[:, None]
    model = Sequential([layers.Embedding(10, 8, mask_zero=True),
                        layers.Bidirectional(layers.GRU(6)),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    hist = model.fit(tokens, y, epochs=5, batch_size=16, verbose=0).history
    assert hist["loss"][-1] < hist["loss"][0]
    assert model.layers[1].name.startswith("bidirectional")
    assert model.count_params() == 80 + 2 * (3 * 6 * (8 + 6) + 2 * 3 * 6) + 13


def test_compute_output_shape_without_data():
    assert layers.Conv2D(4, 3, strides=2, padding="same").compute_output_shape(
        (None, 7, 8, 3)) == (None, 4, 4, 4)
    assert layers.Concatenate().compute_output_shape([(None, 3), (None, 2)]) == (None, 5)
    assert layers.MultiHeadAttention(2, 4, output_shape=5).compute_output_shape(
        (None, 6, 8), (None, 3, 8)) == (None, 6, 5)
    assert layers.LSTM(3, return_state=True).compute_output_shape((None, 4, 2)) == [
        (None, 3), (None, 3), (None, 3)]


def test_trainable_false_freezes_weights_and_batch_statistics_even_after_build():
    x = np.random.default_rng(0).normal(3, 2, (16, 4)).astype(np.float32)
    dense, bn = layers.Dense(3), layers.BatchNormalization()
    bn(dense(x))
    dense.trainable = bn.trainable = False
    assert dense._param_counts() == (0, 15) and bn._param_counts() == (0, 12)
    before = bn.moving_mean.array.copy()
    out = bn(x[:, :3], training=True).array
    assert np.array_equal(bn.moving_mean.array, before)
    mean, var = bn.moving_mean.array, bn.moving_variance.array
    np.testing.assert_allclose(out, (x[:, :3] - mean) / np.sqrt(var + 1e-3), rtol=1e-5)
    dense.trainable = True
    assert dense._param_counts() == (15, 0)
    assert layers.Dense(2, trainable=False).trainable is False


def test_input_layer_config_matches_keras_and_round_trips():
    layer = layers.InputLayer(shape=(3, 4), name="pixels")
    config = layer.get_config()
    assert config == {"batch_shape": [None, 3, 4], "dtype": "float32", "sparse": False,
                      "name": "pixels"}
    assert layers.InputLayer.from_config(config).get_config() == config
    keras_config = {"batch_shape": (None, 3), "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_layer", "optional": False}
    assert layers.InputLayer.from_config(keras_config).get_config()["batch_shape"] == [None, 3]


def test_a_compiled_training_step_through_the_layers_equals_the_eager_one():
    rng = np.random.default_rng(0)
    x = cr.from_numpy(rng.random((8, 6, 6, 2)).astype(np.float32))
    tokens = cr.from_numpy(rng.integers(0, 5, (8, 5)))
    y = cr.from_numpy(rng.random((8, 1)).astype(np.float32))

    def run(compiled: bool) -> tuple[list[float], np.ndarray]:
        cr.manual_seed(0)
        image = Sequential([layers.Conv2D(4, 3, strides=2, padding="same"),
                            layers.BatchNormalization(), layers.DepthwiseConv2D(2, padding="same"),
                            layers.LayerNormalization(), layers.MaxPooling2D(padding="same"),
                            layers.GlobalAveragePooling2D(), layers.Dense(1)])
        text = Sequential([layers.Embedding(5, 4, mask_zero=True),
                           layers.Bidirectional(layers.GRU(3, return_sequences=True, dropout=0.2,
                                                           recurrent_dropout=0.2)),
                           layers.GlobalAveragePooling1D(), layers.Dense(1)])
        image(x), text(tokens)
        opt = cr.optim.Adam([*image.parameters(), *text.parameters()], 1e-2)

        def step(x, tokens, y):
            opt.zero_grad()
            loss = ((image(x) + text(tokens) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        fn = cr.compile(step) if compiled else step
        cr.manual_seed(1)
        losses = [float(fn(x, tokens, y).array) for _ in range(5)]
        return losses, image.layers[1].moving_mean.array.copy()

    (eager, eager_mean), (compiled, compiled_mean) = run(False), run(True)
    assert eager == compiled and eager[-1] < eager[0]
    np.testing.assert_array_equal(eager_mean, compiled_mean)


def test_configs_record_constructor_arguments_also_of_user_layers_and_wrapped_layers():
    class Scale(layers.Layer):
        def __init__(self, factor=3.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    config = Scale(5.0, name="scale").get_config()
    assert config == {"factor": 5.0, "name": "scale", "trainable": True, "dtype": "float32"}
    assert Scale.from_config(config).factor == 5.0

    x = np.random.default_rng(0).random((2, 3, 4)).astype(np.float32)
    bi = layers.Bidirectional(layers.LSTM(2), backward_layer=layers.GRU(2, go_backwards=True))
    bi(x)
    clone = layers.Bidirectional.from_config(bi.get_config())
    assert type(clone.backward_layer).__name__ == "GRU"
    clone(x)
    clone.set_weights(bi.get_weights())
    np.testing.assert_array_equal(clone(x).array, bi(x).array)
