"""A small vision transformer: 7x7 patches (16 tokens of 49 pixels), a Dense(64) patch
embedding plus a learned position embedding, two pre-norm encoder blocks
(LayerNormalization, 4-head self-attention of width 16, residual; LayerNormalization,
MLP 128 with GELU, residual), LayerNormalization, global average pooling, Dense.
"""

import keras

PATCH, WIDTH, HEADS, MLP, BLOCKS = 7, 64, 4, 128, 2


@keras.saving.register_keras_serializable(package="suite")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned (tokens, width) embedding, drawn U(-0.05, 0.05) as Keras' Embedding."""

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=tuple(input_shape[1:]),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),
            name="embeddings",
        )

    def call(self, x):
        return x + self.embeddings


def _patches(x, size: int):
    """(H, W, C) images -> (H/size * W/size, size*size*C) tokens, row-major patches."""
    h, w, c = x.shape[1:]
    x = keras.layers.Reshape((h // size, size, w // size, size * c), name="split")(x)
    x = keras.layers.Permute((1, 3, 2, 4), name="patch_order")(x)
    return keras.layers.Reshape(((h // size) * (w // size), size * size * c), name="tokens")(x)


def _block(x, i: int):
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm1")(x)
    y = keras.layers.MultiHeadAttention(HEADS, WIDTH // HEADS, name=f"block{i}_attention")(y, y)
    x = keras.layers.Add(name=f"block{i}_residual1")([x, y])
    y = keras.layers.LayerNormalization(epsilon=1e-6, name=f"block{i}_norm2")(x)
    y = keras.layers.Dense(MLP, activation="gelu", name=f"block{i}_mlp1")(y)
    y = keras.layers.Dense(WIDTH, name=f"block{i}_mlp2")(y)
    return keras.layers.Add(name=f"block{i}_residual2")([x, y])


def build(input_shape=(28, 28, 1), num_classes=10) -> keras.Model:
    inputs = keras.Input(shape=input_shape, name="image")
    x = _patches(inputs, PATCH)
    x = keras.layers.Dense(WIDTH, name="patch_embedding")(x)
    x = PositionEmbedding(name="position")(x)
    for i in range(1, BLOCKS + 1):
        x = _block(x, i)
    x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="vit")
