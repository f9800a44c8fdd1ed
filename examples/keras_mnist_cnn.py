"""The lecture worksheet's Keras CNN on MNIST, run on chainrule.

    python examples/keras_mnist_cnn.py [--epochs 15] [--data-dir DIR] [--no-download]

This is the notes' Keras program unchanged except for the imports (``keras`` →
``chainrule.keras``) and the command-line options. The full 15 epochs reach about 99% test
accuracy; on a laptop CPU each epoch takes minutes (NumPy convolutions). For a quick look:
``--epochs 1``.

The data is looked up as by ``chainrule.keras.datasets.mnist.load_data`` (``--data-dir``, then
``$CHAINRULE_DATA``, then ``~/.cache/chainrule``, downloaded when missing). Without
``--data-dir`` and with no data to be had (offline), it falls back, with a warning, to the
small subset shipped with chainrule, as ``chainrule train mnist-cnn`` does.
"""

import argparse

from chainrule.datasets import DatasetNotFoundError, load_mnist_or_subset
from chainrule.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from chainrule.keras.models import Sequential
from chainrule.keras.optimizers import Adam
from chainrule.keras.utils import to_categorical

parser = argparse.ArgumentParser(description="The worksheet's Keras CNN on MNIST.",
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
parser.add_argument("--epochs", type=int, default=15, help="passes over the training set")
parser.add_argument("--data-dir", default=None, help="directory holding the MNIST .gz files")
parser.add_argument("--no-download", action="store_true", help="never download the data")
args = parser.parse_args()
try:
    ((x_train, y_train), (x_test, y_test)), subset = load_mnist_or_subset(
        args.data_dir, download=not args.no_download)
except (NotADirectoryError, DatasetNotFoundError) as e:
    raise SystemExit(f"keras_mnist_cnn.py: {e}") from None

x_train = x_train.reshape(x_train.shape[0], 28, 28, 1).astype("float32") / 255
x_test = x_test.reshape(x_test.shape[0], 28, 28, 1).astype("float32") / 255
y_train = to_categorical(y_train, 10)
y_test = to_categorical(y_test, 10)

model = Sequential()
model.add(Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=(28, 28, 1)))
model.add(Conv2D(32, (3, 3), activation="relu"))
model.add(MaxPool2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation="relu"))
model.add(Dropout(0.5))
model.add(Dense(10, activation="softmax"))
model.summary()

model.compile(optimizer=Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=args.epochs, batch_size=32, validation_split=1 / 6)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1], "(on the shipped SUBSET)" if subset else "")
