"""Models a user might bring, good and bad, for tests/commands/test_cli_brought.py."""

import keras


def good(input_shape, num_classes):
    inputs = keras.Input(shape=(784,))
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(inputs))


def raises(input_shape, num_classes):
    raise RuntimeError("this layer needs a GPU")


def not_a_model(input_shape, num_classes):
    return keras.layers.Dense(num_classes)


def three_classes(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def wrong_input(input_shape, num_classes):
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


NOT_CALLABLE = 3
