"""A recurrent network: each image read as 28 timesteps of 28 pixels, one LSTM(128).

Keras' torch backend steps the recurrence in Python (one matmul pair per timestep) on
the CPU, while JAX and TensorFlow compile a scan: the workload where backends differ
most for recurrent layers.
"""

import keras


def build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    inputs = keras.Input(shape=input_shape, name="image")
    x = keras.layers.Reshape((input_shape[0], -1), name="rows")(inputs)  # (28, 28)
    x = keras.layers.LSTM(128, name="lstm")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="lstm")
