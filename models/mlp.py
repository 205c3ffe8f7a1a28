"""Two-hidden-layer perceptron.

The source notebook stacked its Linear layers without activations (which
collapses to one linear map) and took LogSoftmax over the batch axis; here
each hidden layer has a ReLU and the model returns per-example logits.
"""

import keras


def build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Dense(100, activation="relu", name="hidden1")(x)
    x = keras.layers.Dense(100, activation="relu", name="hidden2")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="mlp")
