"""A Keras model's layers as their rounding errors see them (``LayerReductions``): the
lengths of each layer's forward, backward and gradient-forming sums, read off its shapes,
for the per-variable bounds of ``suite.core.rounding``. Works on any model a user
brings: a layer of a kind not named here counts by its variables' shapes."""

from __future__ import annotations

import math
from dataclasses import replace

from suite.core.rounding import ChainTerms, LayerReductions, chain_terms


def _shape(tensor, batch: int) -> tuple[int, ...]:
    if isinstance(tensor, list | tuple):
        tensor = tensor[0]
    return tuple(batch if d is None else int(d) for d in tensor.shape)


def _lead(shape: tuple[int, ...]) -> int:
    """Batch x positions: the examples a per-channel sum runs over."""
    return math.prod(shape[:-1]) if len(shape) > 1 else shape[0]


# layers that only move, drop or select values: no rounding under a mixed policy
EXACT = {"InputLayer", "Flatten", "Reshape", "Permute", "Dropout", "ReLU", "MaxPooling1D",
         "MaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"}  # fmt: skip


def describe_layer(layer, batch: int) -> LayerReductions:
    """One layer's reductions (lengths) and roundings, from its class and shapes."""
    import keras

    described = _reductions(layer, batch)
    name = layer.__class__.__name__
    if isinstance(layer, keras.layers.RNN):
        rounds = len(described.forward)  # every step rounds its state
    elif isinstance(layer, keras.layers.MultiHeadAttention):
        rounds = 6  # q, k, v, scores, weighted sum, output
    else:
        activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
        rounds = 0 if name in EXACT else 1 + (activation not in ("linear", "relu"))
    return replace(described, roundings=rounds)


def _reductions(layer, batch: int) -> LayerReductions:
    """One layer's reductions (lengths), from its class and shapes."""
    import keras

    paths = tuple(v.path for v in layer.trainable_variables)
    try:
        ins, outs = _shape(layer.input, batch), _shape(layer.output, batch)
    except (AttributeError, IndexError, ValueError, TypeError):  # called twice, or never
        return LayerReductions(layer.name, paths, own=batch)
    name = layer.__class__.__name__
    if isinstance(layer, keras.layers.BatchNormalization):
        n = _lead(ins)  # mean and variance per channel over batch x positions
        return LayerReductions(layer.name, paths, (n, n), (n, n), n, normalising=True)
    if "Normalization" in name:  # per example over its features
        f = ins[-1]
        return LayerReductions(layer.name, paths, (f, f), (f, f), _lead(ins), normalising=True)
    if isinstance(layer, keras.layers.RNN):
        steps, units = ins[1], layer.cell.units
        gates = layer.cell.kernel.shape[-1]
        # every step sums its input and state; backprop through time runs back over
        # every step, and the variables' gradients sum over batch x steps
        return LayerReductions(
            layer.name,
            paths,
            (ins[-1] + units,) * steps,
            (gates,) * steps,
            _lead(ins) + steps * gates,
        )
    if isinstance(layer, keras.layers.MultiHeadAttention):
        seq, width = ins[1], ins[-1]
        key = layer.get_config()["key_dim"]
        # projections over the width, scores over the key size, softmax and weighted
        # sum over the sequence
        return LayerReductions(
            layer.name, paths, (width, key, seq, seq, width), (width, seq, seq), _lead(ins)
        )
    if "Pooling" in name and "Average" in name:
        window = math.prod(ins[1:-1]) if "Global" in name else math.prod(layer.pool_size)
        return LayerReductions(layer.name, paths, (window,))
    kernel = getattr(layer, "kernel", None)
    if kernel is not None and len(ins) > 1:
        size = math.prod(kernel.shape)
        fan_in, fan_out = size // max(outs[-1], 1), size // max(ins[-1], 1)
        return LayerReductions(layer.name, paths, (fan_in,), (fan_out,), _lead(ins))
    if paths:  # weights of another kind (an embedding table): summed over the batch
        return LayerReductions(layer.name, paths, (ins[-1],), (outs[-1],), _lead(ins))
    return LayerReductions(layer.name, paths)


def model_terms(model, batch: int, classes: int) -> dict[str, ChainTerms]:
    """Per trainable variable path, and for the logits and loss, its bound's terms."""
    layers = [describe_layer(layer, batch) for layer in model.layers]
    return chain_terms(layers, batch, classes)
