"""Shared initial weights: made once with numpy, loaded into the model on any backend.

Keras' random initialisers draw from each backend's own generator, so the same
seed gives different weights on torch, JAX and TensorFlow. Here every kernel is
drawn with numpy from Keras' default rule (glorot-uniform; biases zero) and
keyed by variable path, so every backend starts from bit-identical weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.atomic import write_atomic
from suite.errors import SuiteError


def glorot_limit(shape: tuple[int, ...]) -> float:
    """sqrt(6 / (fan_in + fan_out)), with fans computed as keras.initializers does."""
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def make_initial_weights(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, np.ndarray]:
    """float32 weights for each variable path: kernels glorot-uniform, biases zero."""
    rng = np.random.default_rng(seed)
    weights = {}
    for path in sorted(shapes):
        shape = tuple(shapes[path])
        if path.endswith("kernel"):
            limit = glorot_limit(shape)
            weights[path] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
        else:
            weights[path] = np.zeros(shape, dtype=np.float32)
    return weights


def variable_shapes(model) -> dict[str, tuple[int, ...]]:
    return {v.path: tuple(v.shape) for v in model.weights}


def initial_weights_for(model, seed: int) -> dict[str, np.ndarray]:
    return make_initial_weights(variable_shapes(model), seed)


def load_weights(model, weights: dict[str, np.ndarray], dtype: str | None = None) -> None:
    """Assign weights by variable path; every variable must be present with its shape."""
    missing = [v.path for v in model.weights if v.path not in weights]
    if missing:
        raise SuiteError(f"weights file lacks {', '.join(missing)}")
    for v in model.weights:
        value = weights[v.path]
        if tuple(value.shape) != tuple(v.shape):
            raise SuiteError(f"weight {v.path} has shape {value.shape}, model wants {v.shape}")
        v.assign(value.astype(dtype or v.dtype))


def model_weights(model) -> dict[str, np.ndarray]:
    import keras

    return {v.path: keras.ops.convert_to_numpy(v.value) for v in model.weights}


def save_weights_npz(path: Path, weights: dict[str, np.ndarray]) -> None:
    """Atomic npz keyed by variable path (npz keys may contain "/")."""
    write_atomic(path, lambda f: np.savez(f, **weights))


def read_weights_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise SuiteError(f"{path}: not a readable weights npz ({e})") from None
