"""The lecture worksheet's Keras CNN on MNIST, run on chainrule.

This is the notes' Keras program unchanged except for the imports (``keras`` →
``chainrule.keras``). The full 15 epochs reach about 99% test accuracy; on a laptop CPU each
epoch takes minutes (NumPy convolutions). For a quick look: ``chainrule train mnist-cnn
--epochs 1``.
"""

from chainrule.keras.datasets import mnist
from chainrule.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D
from chainrule.keras.models import Sequential
from chainrule.keras.optimizers import Adam
from chainrule.keras.utils import to_categorical

(x_train, y_train), (x_test, y_test) = mnist.load_data()
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
model.fit(x_train, y_train, epochs=15, batch_size=32, validation_split=1 / 6)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
