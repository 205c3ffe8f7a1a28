"""A model you might bring, written the quick way: a GRU reading an MNIST image as 28
rows of 28 pixels, its layers left for Keras to name (``gru``, ``dense``, numbered by a
counter in each process, so the suite matches weights by the model's structure).

    python -m suite compare --quick --models examples/rowgru.py:build
"""

import keras


def build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.GRU(32)(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))
