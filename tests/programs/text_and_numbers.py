"""
Title: A two-input model: words and numbers
Description: Flag urgent support tickets from their text and two numeric features.

In the style of the Keras example gallery, with the functional API: one input of token ids,
one of numbers, each with its own layers, joined and classified. Neither input alone decides
the label: a ticket is urgent when it uses an alarm word *and* has been open long. It runs on
Keras 3 with ``import keras`` / ``from keras import layers``; here the only change is the
import lines.
"""

import numpy as np

from chainrule import keras
from chainrule.keras import layers

"""
## Generate the data
"""

keras.utils.set_random_seed(1337)

vocabulary_size = 100  # token 0 is padding, 1..5 are the alarm words
sequence_length = 12
num_tickets = 4000

rng = np.random.default_rng(1337)
tokens = rng.integers(6, vocabulary_size, size=(num_tickets, sequence_length))
alarm = rng.random(num_tickets) < 0.5
positions = rng.integers(0, sequence_length, size=num_tickets)
tokens[alarm, positions[alarm]] = rng.integers(1, 6, size=int(alarm.sum()))
hours_open = rng.normal(size=num_tickets)
priority = rng.integers(0, 3, size=num_tickets)
numbers = np.stack([hours_open, priority / 2.0], axis=1).astype("float32")
labels = (alarm & (hours_open > 0)).astype("float32").reshape(-1, 1)

split = int(0.8 * num_tickets)
x_train = {"text": tokens[:split], "numbers": numbers[:split]}
x_test = {"text": tokens[split:], "numbers": numbers[split:]}
y_train, y_test = labels[:split], labels[split:]

"""
## Build the model
"""

text_input = keras.Input(shape=(sequence_length,), dtype="int64", name="text")
numbers_input = keras.Input(shape=(2,), name="numbers")

text_features = layers.Embedding(vocabulary_size, 8)(text_input)
text_features = layers.Flatten()(text_features)
text_features = layers.Dense(16, activation="relu")(text_features)

number_features = layers.Dense(8, activation="relu")(numbers_input)

x = keras.ops.concatenate([text_features, number_features], axis=-1)
x = layers.Dense(16, activation="relu")(x)
urgent = layers.Dense(1, activation="sigmoid", name="urgent")(x)

model = keras.Model(inputs={"text": text_input, "numbers": numbers_input}, outputs=urgent)
model.summary()

"""
## Train and evaluate
"""

model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
              loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=12, validation_split=0.2)

loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", loss)
print("Test accuracy:", accuracy)
