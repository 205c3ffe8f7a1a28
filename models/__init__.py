"""The built-in networks and their registry.

Each model is a plain function ``build(input_shape, num_classes) -> keras.Model``
that imports only keras. ``MODELS`` carries what the suite needs to know about
each one without building it: parameter count, analytic forward and training FLOPs
per example, the default training recipe and the target test accuracy.

The three classic MNIST networks (softmax, mlp, cnn) use Dense and Conv2D only; the
three workloads where backends differ most add a recurrent layer (lstm), attention
and LayerNormalization (vit) and BatchNormalization (resnet).

FLOPs counting rule: 2 FLOPs per multiply-add in matmuls, convolutions, recurrent
matmuls and attention (scores and weighted sum); bias adds, activations, softmax,
normalisation and pooling are left out. A training step costs the forward, the weight
gradients and the input gradients of every matmul whose input needs one: 3x the
forward, less the input gradients of the ops applied to the data itself (and, for the
LSTM, of the first timestep's recurrent matmul, whose input is the constant zero state).
No recomputation is counted. ``tests/models`` checks every figure against torch's
FlopCounterMode run on the Keras model under the torch backend.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from models import brought


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
    params: int | None  # None: a brought model, counted once built
    flops_per_example: int | None  # forward pass, one multiply-add = 2 FLOPs
    # one training step: forward + weight gradients (as many FLOPs as the forward) +
    # input gradients of every layer but the first (no framework computes the first)
    train_flops_per_example: int | None
    recipe: Recipe
    target_accuracy: float | None  # test accuracy, fraction; None: none set (brought)
    variable_shapes: dict | None  # Keras variable path -> shape, for weights made without keras
    # compare --quick trains this many examples per cell (None: all 60,000), so that the
    # heavy workloads keep the quick run within its time budget
    quick_examples: int | None = None
    # written again in each framework (suite/frameworks/<backend>/native.py), so --impl
    # native and compare --native can time it without Keras
    native: bool = False

    @property
    def brought(self) -> bool:
        """A model a user brings (``MODULE:FUNCTION``), not one of the registry's."""
        return self.name not in MODELS

    def build(self, **kwargs):
        """Build a fresh ``keras.Model`` (kwargs go to the model's ``build``; a brought
        model's FUNCTION gets input_shape and num_classes only)."""
        if self.brought:
            function = brought.load_function(brought.parse(self.name))
            shape, classes = kwargs.get("input_shape", (28, 28, 1)), kwargs.get("num_classes", 10)
            return function(shape, classes)
        return importlib.import_module(self.module).build(**kwargs)


def _dense_shapes(layers) -> dict:
    shapes = {}
    for name, fan_in, units in layers:
        shapes[f"{name}/kernel"], shapes[f"{name}/bias"] = (fan_in, units), (units,)
    return shapes


def _train(forward: int, no_input_gradient: int) -> int:
    """Training FLOPs by the counting rule: 3x the forward, less the forward FLOPs of the
    ops whose input needs no gradient (see the module docstring)."""
    return 3 * forward - no_input_gradient


def _conv_bn_shapes(name: str, kernel: int, cin: int, cout: int) -> dict:
    bn = {f"{name}_bn/{v}": (cout,) for v in ("gamma", "beta", "moving_mean", "moving_variance")}
    return {f"{name}_conv/kernel": (kernel, kernel, cin, cout), **bn}


def _vit_shapes(blocks: int = 2, width: int = 64, heads: int = 4, mlp: int = 128) -> dict:
    key = width // heads
    shapes = {
        **_dense_shapes([("patch_embedding", 49, width)]),
        "position/embeddings": (16, width),
        "norm/gamma": (width,),
        "norm/beta": (width,),
        **_dense_shapes([("logits", width, 10)]),
    }
    for i in range(1, blocks + 1):
        b = f"block{i}"
        for norm in ("norm1", "norm2"):
            shapes[f"{b}_{norm}/gamma"] = shapes[f"{b}_{norm}/beta"] = (width,)
        for proj in ("query", "key", "value"):
            shapes[f"{b}_attention/{proj}/kernel"] = (width, heads, key)
            shapes[f"{b}_attention/{proj}/bias"] = (heads, key)
        shapes[f"{b}_attention/attention_output/kernel"] = (heads, key, width)
        shapes[f"{b}_attention/attention_output/bias"] = (width,)
        shapes.update(_dense_shapes([(f"{b}_mlp1", width, mlp), (f"{b}_mlp2", mlp, width)]))
    return shapes


# per example: LSTM, 28 steps of x(28) @ W(28, 512) and h(128) @ U(128, 512)
_LSTM_FORWARD = 2 * (28 * (28 + 128) * 4 * 128 + 128 * 10)
# ViT: patch embedding on 16 tokens; per block q, k, v and output projections, scores
# and weighted sum (16 x 16 per head-width), MLP 64-128-64; logits
_VIT_BLOCK = 4 * 16 * 64 * 64 + 2 * 16 * 16 * 64 + 2 * 16 * 64 * 128
_VIT_FORWARD = 2 * (16 * 49 * 64 + 2 * _VIT_BLOCK + 64 * 10)
# resnet: stem 14x14x32 (3x3x1); block1 two 14x14x32 (3x3x32); block2 7x7x64 (3x3x32),
# 7x7x64 (3x3x64), shortcut 7x7x64 (1x1x32); logits
_RESNET_STEM = 2 * 14 * 14 * 32 * 9
_RESNET_FORWARD = _RESNET_STEM + 2 * (
    2 * 14 * 14 * 32 * 9 * 32 + 7 * 7 * 64 * 9 * (32 + 64) + 7 * 7 * 64 * 32 + 64 * 10
)

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
        native=True,
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
        native=True,
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
        native=True,
    ),
    "lstm": ModelSpec(
        name="lstm",
        module="models.lstm",
        description="LSTM: 28 rows as timesteps -> LSTM(128) -> Dense(10)",
        params=81_674,
        flops_per_example=_LSTM_FORWARD,
        train_flops_per_example=_train(_LSTM_FORWARD, 2 * 28 * 28 * 512 + 2 * 128 * 512),
        recipe=Recipe("adam", 2e-3, 128, 3),
        target_accuracy=0.975,
        variable_shapes={
            "lstm/lstm_cell/kernel": (28, 512),
            "lstm/lstm_cell/recurrent_kernel": (128, 512),
            "lstm/lstm_cell/bias": (512,),
            **_dense_shapes([("logits", 128, 10)]),
        },
        quick_examples=12_800,
    ),
    "vit": ModelSpec(
        name="vit",
        module="models.vit",
        description="ViT: 16 7x7 patches, 2 blocks (4-head attention, MLP 128) -> Dense(10)",
        params=71_946,
        flops_per_example=_VIT_FORWARD,
        train_flops_per_example=_train(_VIT_FORWARD, 2 * 16 * 49 * 64),
        recipe=Recipe("adam", 2e-3, 128, 4),
        target_accuracy=0.965,
        variable_shapes=_vit_shapes(),
        quick_examples=12_800,
    ),
    "resnet": ModelSpec(
        name="resnet",
        module="models.resnet",
        description="ResNet: stride-2 stem, 2 residual blocks with BatchNorm -> Dense(10)",
        params=77_866,
        flops_per_example=_RESNET_FORWARD,
        train_flops_per_example=_train(_RESNET_FORWARD, _RESNET_STEM),
        recipe=Recipe("adam", 2e-3, 128, 2),
        target_accuracy=0.985,
        variable_shapes={
            **_conv_bn_shapes("stem", 3, 1, 32),
            **_conv_bn_shapes("block1a", 3, 32, 32),
            **_conv_bn_shapes("block1b", 3, 32, 32),
            **_conv_bn_shapes("block2a", 3, 32, 64),
            **_conv_bn_shapes("block2b", 3, 64, 64),
            **_conv_bn_shapes("block2_shortcut", 1, 32, 64),
            **_dense_shapes([("logits", 64, 10)]),
        },
        quick_examples=12_800,
    ),
}


# a brought model trains with this unless its flags say otherwise: Keras' default Adam
# rate, the batch of the CNN and the workloads, and 3 epochs
BROUGHT_RECIPE = Recipe("adam", 1e-3, 128, 3)


def get_model(name: str) -> ModelSpec:
    """Look a model up by name, or describe a brought one (``MODULE:FUNCTION``); the error
    names the valid choices. A brought model's size and FLOPs are counted once built."""
    if name in MODELS:
        return MODELS[name]
    if brought.is_reference(name):
        ref = brought.parse(name)  # ValueError names a malformed reference
        return ModelSpec(
            name=name,
            module=ref.target,
            description=f"brought: {ref.text}",
            params=None,
            flops_per_example=None,
            train_flops_per_example=None,
            recipe=BROUGHT_RECIPE,
            target_accuracy=None,
            variable_shapes=None,
        )
    raise KeyError(
        f"unknown model {name!r}; choose from {', '.join(MODELS)}, or bring one as "
        "MODULE:FUNCTION or path/to/file.py:FUNCTION"
    )


# layers whose work the counting rule leaves out (normalisation, lookups, adds), though
# they hold weights; any other layer with weights that the counter does not know makes
# the count "not counted" (None) rather than a guess
FREE_LAYERS = frozenset(
    {
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "UnitNormalization",
        "Embedding",
        "PositionEmbedding",
    }
)
GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


def _positions(shape) -> int:
    """Positions a per-position layer is applied at: every axis but batch and features."""
    n = 1
    for d in shape[1:-1]:
        n *= d
    return n


def _layer_flops(layer) -> int | None:
    kind = type(layer).__name__
    if kind == "Dense":
        fan_in, units = layer.kernel.shape
        return 2 * fan_in * units * _positions(layer.output.shape)
    if kind in ("Conv1D", "Conv2D", "Conv3D") and layer.groups == 1:
        *taps, cin, cout = layer.kernel.shape
        out = layer.output.shape
        spatial = out[1:-1] if layer.data_format == "channels_last" else out[2:]
        n = 2 * cin * cout
        for d in (*taps, *spatial):
            n *= d
        return n
    if kind in GATES:
        cell = layer.cell
        steps, units = layer.input.shape[1], cell.units
        return 2 * steps * (cell.kernel.shape[0] + units) * GATES[kind] * units
    if kind == "MultiHeadAttention":  # called as (query, value[, key]) in a functional model
        query, value, *key = layer._inbound_nodes[0].input_tensors
        tq, tk = _positions(query.shape), _positions((key or [value])[0].shape)
        dq, heads, key_dim = layer._query_dense.kernel.shape
        dk, dv = layer._key_dense.kernel.shape[0], layer._value_dense.kernel.shape[0]
        value_dim = layer._value_dense.kernel.shape[-1]
        width = layer._output_dense.kernel.shape[-1]
        projections = tq * dq * key_dim + tk * (dk * key_dim + dv * value_dim)
        attention = tq * tk * (key_dim + value_dim)  # scores, weighted sum
        return 2 * (heads * (projections + attention) + tq * heads * value_dim * width)
    if kind in FREE_LAYERS or not layer.weights:
        return 0
    if hasattr(layer, "layers"):  # a nested Model or Sequential
        return forward_flops(layer)
    return None


def forward_flops(model) -> int | None:
    """Forward FLOPs per example counted from a built model's layers, by the counting
    rule above: Dense (at every position), Conv1D/2D/3D, LSTM, GRU, SimpleRNN and
    MultiHeadAttention; nested models are walked. None ("not counted") when a layer
    with weights is of a kind it does not know: never a guess. An independent check on
    the registry's analytic figures, and the count for a model a user brings."""
    total = 0
    for layer in model.layers:
        try:
            n = _layer_flops(layer)
        except (AttributeError, ValueError, TypeError):  # e.g. a layer used twice
            return None
        if n is None:
            return None
        total += n
    return int(total)
