"""The three MNIST networks and their registry.

Each model is a plain function ``build(input_shape, num_classes) -> keras.Model``
that imports only keras. ``MODELS`` carries what the suite needs to know about
each one without building it: parameter count, analytic forward FLOPs per
example, the default training recipe and the target test accuracy.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """Default training settings; each can be overridden on the command line."""

    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    schedule: str = "cosine"  # learning rate: "cosine" decays to 0 over the run, or "constant"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    module: str  # imported on first build, so listing the registry needs no keras
    description: str
    params: int
    flops_per_example: int  # forward pass, one multiply-add = 2 FLOPs
    # one training step: forward + weight gradients (as many FLOPs as the forward) +
    # input gradients of every layer but the first (no framework computes the first)
    train_flops_per_example: int
    recipe: Recipe
    target_accuracy: float  # test accuracy, fraction
    variable_shapes: dict  # Keras variable path -> shape, for weights made without keras

    def build(self, **kwargs):
        """Build a fresh ``keras.Model`` (kwargs go to the model's ``build``)."""
        return importlib.import_module(self.module).build(**kwargs)


def _dense_shapes(layers) -> dict:
    shapes = {}
    for name, fan_in, units in layers:
        shapes[f"{name}/kernel"], shapes[f"{name}/bias"] = (fan_in, units), (units,)
    return shapes


MODELS: dict[str, ModelSpec] = {
    "softmax": ModelSpec(
        name="softmax",
        module="models.softmax",
        description="softmax regression: Flatten -> Dense(10)",
        params=7_850,
        flops_per_example=2 * 784 * 10,
        train_flops_per_example=2 * (2 * 784 * 10),
        recipe=Recipe("adam", 5e-3, 128, 8),
        target_accuracy=0.920,
        variable_shapes=_dense_shapes([("logits", 784, 10)]),
    ),
    "mlp": ModelSpec(
        name="mlp",
        module="models.mlp",
        description="MLP: Flatten -> Dense(100, relu) x2 -> Dense(10)",
        params=89_610,
        flops_per_example=2 * (784 * 100 + 100 * 100 + 100 * 10),
        train_flops_per_example=2 * 178_800 + 2 * (100 * 100 + 100 * 10),
        recipe=Recipe("adam", 1e-3, 64, 12),
        target_accuracy=0.975,
        variable_shapes=_dense_shapes(
            [("hidden1", 784, 100), ("hidden2", 100, 100), ("logits", 100, 10)]
        ),
    ),
    "cnn": ModelSpec(
        name="cnn",
        module="models.cnn",
        description="CNN: Conv32-Pool-Drop-Conv64-Pool-Drop-Dense128-Dense10",
        params=225_034,
        # conv1 26*26*32*(3*3*1), conv2 11*11*64*(3*3*32), dense 1600*128, 128*10
        flops_per_example=2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 10),
        train_flops_per_example=2 * 5_262_080 + 2 * (11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 10),
        recipe=Recipe("adam", 1e-3, 128, 8),
        target_accuracy=0.990,
        variable_shapes={
            "conv1/kernel": (3, 3, 1, 32),
            "conv1/bias": (32,),
            "conv2/kernel": (3, 3, 32, 64),
            "conv2/bias": (64,),
            **_dense_shapes([("hidden", 1600, 128), ("logits", 128, 10)]),
        },
    ),
}


def get_model(name: str) -> ModelSpec:
    """Look a model up by name; the error names the valid choices."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None


def forward_flops(model) -> int:
    """Forward FLOPs per example counted from a built model's Dense and Conv2D layers.

    Counts 2 FLOPs per multiply-add; bias adds, activations and pooling are left
    out (under 1% for these models). An independent check on the registry numbers.
    """
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Dense":
            fan_in, units = layer.kernel.shape
            total += 2 * fan_in * units
        elif kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape
            out = layer.output.shape  # (None, H, W, C) or (None, C, H, W)
            spatial = out[1] * out[2] if layer.data_format == "channels_last" else out[2] * out[3]
            total += 2 * kh * kw * cin * cout * spatial
    return int(total)
