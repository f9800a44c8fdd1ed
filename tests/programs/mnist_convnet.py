"""
Title: Simple MNIST convnet, functional API
Description: A small ConvNet with augmentation layers that reaches about 98% test accuracy on
MNIST in 3 epochs.

In the style of the Keras example gallery ("Simple MNIST convnet"), written with the functional
API. It runs on Keras 3 with ``import keras`` / ``from keras import layers``; here the only
change is the import lines.
"""

import numpy as np

from chainrule import keras
from chainrule.keras import layers

"""
## Prepare the data
"""

keras.utils.set_random_seed(1337)

# Model / data parameters
num_classes = 10
input_shape = (28, 28, 1)

# Load the data and split it between train and test sets
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

"""
## Build the model
"""

# Light augmentation (active only while training): small rotations and zooms.
data_augmentation = keras.Sequential(
    [layers.RandomRotation(0.03), layers.RandomZoom(0.05)], name="augmentation")

inputs = keras.Input(shape=input_shape, name="digits")
x = data_augmentation(inputs)
x = layers.Conv2D(8, kernel_size=(3, 3), activation="relu")(x)
x = layers.MaxPooling2D(pool_size=(2, 2))(x)
x = layers.Conv2D(16, kernel_size=(3, 3), activation="relu")(x)
x = layers.MaxPooling2D(pool_size=(2, 2))(x)
x = layers.Flatten()(x)
x = layers.Dropout(0.25)(x)
outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_convnet")

model.summary()

"""
## Train the model
"""

batch_size = 32
epochs = 3

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

"""
## Evaluate the trained model
"""

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
