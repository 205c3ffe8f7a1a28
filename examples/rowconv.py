"""A model you might bring: a 1-D convnet that reads an MNIST image as 28 rows of 28
pixels (its Input is (28, 28): the suite reshapes the images to fit).

    python -m suite compare --quick --models examples/rowconv.py:build

``build(input_shape, num_classes)`` returns an uncompiled keras.Model; the suite calls
it in each backend's worker, with the initial weights built once and shared.
"""

import keras


def build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    inputs = keras.Input(shape=(28, 28), name="rows")
    x = keras.layers.Conv1D(32, 5, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling1D(2, name="pool1")(x)
    x = keras.layers.Conv1D(64, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool2")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="rowconv")
