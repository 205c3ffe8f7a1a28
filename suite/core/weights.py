"""Shared initial weights: made once with numpy, loaded into the model on any backend.

Keras' random initialisers draw from each backend's own generator, so the same
seed gives different weights on torch, JAX and TensorFlow. Here every kernel is
drawn with numpy from Keras' default rule (glorot-uniform kernels, orthogonal
recurrent kernels, zero biases, unit normalisation scales: ``_keras_default``) and
keyed by variable path, so every backend starts from bit-identical weights. The
functions here take a model only to read its variables' paths and shapes and to assign
values; reading weights back and Keras' own files are in ``suite.training.weights``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.core.errors import SuiteError
from suite.core.files import write_atomic


def glorot_limit(shape: tuple[int, ...], split: int | None = None) -> float:
    """sqrt(6 / (fan_in + fan_out)), with fans computed as keras.initializers does: for
    an EinsumDense kernel (``split``: its first ``split`` axes are inputs, the rest
    outputs), else as a dense or convolution kernel."""
    if split is not None:
        fan_in, fan_out = int(np.prod(shape[:split])), int(np.prod(shape[split:]))
    else:
        receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def _einsum_split(path: str, shape: tuple[int, ...]) -> int | None:
    """MultiHeadAttention's kernels are EinsumDense kernels, whose fans Keras takes from
    the einsum's input and output axes: query/key/value (width, heads, dim) map one
    input axis to two; attention_output (heads, dim, width) maps two to one."""
    owner = path.rsplit("/", 2)[-2] if path.count("/") >= 1 else ""
    if len(shape) == 3 and owner in ("query", "key", "value"):
        return 1
    if len(shape) == 3 and owner == "attention_output":
        return 2
    return None


def fan_in(shape: tuple[int, ...]) -> int:
    """Inputs per output unit of a Keras kernel: (in, out) or (kh, kw, in, out)."""
    return int(np.prod(shape[:-1]))


def orthogonal(rng, shape: tuple[int, ...]) -> np.ndarray:
    """Keras' Orthogonal initialiser (gain 1), its algorithm in numpy: QR of a normal
    matrix, signs fixed by R's diagonal."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    flat = rng.normal(0.0, 1.0, size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    return (q.T if rows < cols else q).reshape(shape)


# Keras' default initialisers of the variables that are not kernels or biases
ONES, ZEROS = ("gamma", "moving_variance"), ("beta", "moving_mean")
EMBEDDING_LIMIT = 0.05  # keras.layers.Embedding: RandomUniform(-0.05, 0.05)


def _keras_default(rng, path: str, shape: tuple, shapes: dict) -> np.ndarray:
    """Keras' default rule for the variable at ``path``: glorot-uniform kernels (fans as
    Keras computes them, 3-D attention kernels included), orthogonal recurrent kernels,
    zero biases but an LSTM's forget gate (ones: unit_forget_bias), ones and zeros for
    normalisation scales, offsets and moving statistics, U(-0.05, 0.05) embeddings."""
    leaf = path.rsplit("/", 1)[-1]
    if leaf == "recurrent_kernel":
        return orthogonal(rng, shape)
    if leaf == "kernel":
        limit = glorot_limit(shape, _einsum_split(path, shape))
        return rng.uniform(-limit, limit, size=shape)
    if leaf == "embeddings":
        return rng.uniform(-EMBEDDING_LIMIT, EMBEDDING_LIMIT, size=shape)
    if leaf in ONES:
        return np.ones(shape)
    value = np.zeros(shape)
    recurrent = shapes.get(path[: -len(leaf)] + "recurrent_kernel")
    if leaf == "bias" and recurrent is not None and recurrent[-1] == 4 * recurrent[0]:
        units = recurrent[0]  # an LSTM cell's bias: gates i, f, c, o
        value[units : 2 * units] = 1.0
    return value


def _draw(rng, path: str, shape: tuple, shapes: dict, init: str) -> np.ndarray:
    kernel = path.endswith("kernel")
    if init == "glorot":  # Keras' default rule
        return _keras_default(rng, path, shape, shapes)
    if init.startswith("normal:"):  # N(0, sigma) kernels; biases zero (d2l) or N(0, sigma)
        sigma = float(init.split(":")[1].removesuffix("+bias"))
        if kernel or init.endswith("+bias"):
            return rng.normal(0.0, sigma, size=shape)
        return np.zeros(shape)
    if init == "torch":  # nn.Linear / nn.Conv2d defaults: U(+-1/sqrt(fan_in)), bias too
        owner = path if kernel else path[: -len("bias")] + "kernel"
        bound = 1.0 / np.sqrt(fan_in(tuple(shapes[owner])))
        return rng.uniform(-bound, bound, size=shape)
    raise SuiteError(f"unknown initialisation {init!r}; choose from {', '.join(INITS)}")


INITS = ("glorot", "normal:SIGMA", "normal:SIGMA+bias", "torch")


def make_initial_weights(
    shapes: dict[str, tuple[int, ...]], seed: int, init: str = "glorot"
) -> dict[str, np.ndarray]:
    """float32 weights for each variable path, drawn in sorted path order.

    ``glorot``: Keras' default rule. ``normal:S``: kernels N(0, S), biases zero;
    ``normal:S+bias``: biases N(0, S) too. ``torch``: PyTorch's layer defaults,
    kernel and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    rng = np.random.default_rng(seed)
    return {
        path: _draw(rng, path, tuple(shapes[path]), shapes, init).astype(np.float32)
        for path in sorted(shapes)
    }


def variable_shapes(model) -> dict[str, tuple[int, ...]]:
    return {v.path: tuple(v.shape) for v in model.weights}


def initial_weights_for(model, seed: int, init: str = "glorot") -> dict[str, np.ndarray]:
    return make_initial_weights(variable_shapes(model), seed, init)


def match_weights(model, weights: dict[str, np.ndarray]) -> dict[str, str]:
    """Each of the model's variable paths -> its entry in ``weights``: by path where every
    path is there; else by position, shapes checked, since Keras numbers unnamed layers
    by a per-process counter (``dense_1`` here is ``dense`` in the process that saved)."""
    variables = list(model.weights)
    if all(v.path in weights for v in variables):
        return {v.path: v.path for v in variables}
    keys = list(weights)
    shapes = [tuple(weights[k].shape) for k in keys]
    if shapes == [tuple(v.shape) for v in variables]:
        return {v.path: k for v, k in zip(variables, keys, strict=True)}
    missing = [v.path for v in variables if v.path not in weights]
    raise SuiteError(
        f"weights file lacks {', '.join(missing)}, and its {len(keys)} weights do not "
        f"match the model's {len(variables)} in order and shape"
    )


def load_weights(model, weights: dict[str, np.ndarray], dtype: str | None = None) -> dict[str, str]:
    """Assign every variable its entry in ``weights``; returns which entry each variable
    path took (``match_weights``)."""
    keys = match_weights(model, weights)
    for v in model.weights:
        value = weights[keys[v.path]]
        if tuple(value.shape) != tuple(v.shape):
            raise SuiteError(f"weight {v.path} has shape {value.shape}, model wants {v.shape}")
        v.assign(value.astype(dtype or v.dtype))
    return keys


def save_weights_npz(path: Path, weights: dict[str, np.ndarray]) -> None:
    """Atomic npz keyed by variable path (npz keys may contain "/")."""
    write_atomic(path, lambda f: np.savez(f, **weights))


def read_weights_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise SuiteError(f"{path}: not a readable weights npz ({e})") from None
