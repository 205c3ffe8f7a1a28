"""The classic Keras MNIST convnet (two conv blocks, dropout, one hidden dense).

``data_format`` lets the suite time channels_first layouts; with it the input
shape is (1, 28, 28) instead of (28, 28, 1).
"""

import keras


def build(input_shape=(28, 28, 1), num_classes=10, data_format="channels_last") -> keras.Model:
    if data_format == "channels_first" and input_shape[-1] == 1:
        input_shape = (input_shape[-1], *input_shape[:-1])
    conv = dict(kernel_size=3, activation="relu", data_format=data_format)
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Conv2D(32, name="conv1", **conv)(inputs)
    x = keras.layers.MaxPooling2D(2, data_format=data_format, name="pool1")(x)
    x = keras.layers.Dropout(0.25, name="drop1")(x)
    x = keras.layers.Conv2D(64, name="conv2", **conv)(x)
    x = keras.layers.MaxPooling2D(2, data_format=data_format, name="pool2")(x)
    x = keras.layers.Dropout(0.5, name="drop2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(128, activation="relu", name="hidden")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="cnn")
