"""float64 numpy references: the softmax model in closed form, the MLP by backprop, and
the ReLU ties that explain an MLP difference (pure numpy)."""

from __future__ import annotations

import itertools

import numpy as np

from suite.checks.grads.diffs import compare_gradients, verdict


def _softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of float64 logits and its gradient (softmax - onehot(y)) / N."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    n = len(y)
    loss = float(-np.log(p[np.arange(n), y]).mean())
    p[np.arange(n), y] -= 1.0
    return loss, p / n


def softmax_reference(
    x: np.ndarray, y: np.ndarray, kernel: np.ndarray, bias: np.ndarray
) -> tuple[float, np.ndarray, dict]:
    """Closed form, float64: dL/dW = X^T (softmax(XW+b) - onehot(y)) / N, dL/db = column
    means of the same. Returns loss, logits and gradients keyed like Keras' variables."""
    X = np.asarray(x, np.float64).reshape(len(x), -1)
    logits = X @ kernel.astype(np.float64) + bias.astype(np.float64)
    loss, delta = _softmax_cross_entropy(logits, y)
    return loss, logits, {"logits/kernel": X.T @ delta, "logits/bias": delta.sum(axis=0)}


MLP_LAYERS = ("hidden1", "hidden2", "logits")  # Dense layers; ReLU on all but the last

# A pre-activation this close to zero (relative to the layer's largest) can change
# sign under float32 rounding, which flips that unit's ReLU gradient.
KINK_BAND = 1e-6


def mlp_reference(
    x: np.ndarray, y: np.ndarray, weights: dict, flips: frozenset = frozenset()
) -> tuple[float, np.ndarray, dict, list]:
    """Float64 backprop through the MLP. ``flips`` holds (layer, example, unit) whose
    ReLU mask is inverted. Also returns the near-zero pre-activations (the kinks)."""
    h = np.asarray(x, np.float64).reshape(len(x), -1)
    inputs, masks, kinks = [], [], []
    for layer in MLP_LAYERS:
        inputs.append(h)
        z = h @ weights[f"{layer}/kernel"].astype(np.float64) + weights[f"{layer}/bias"]
        if layer == MLP_LAYERS[-1]:
            break
        mask = z > 0
        for i, j in zip(*np.nonzero(np.abs(z) <= KINK_BAND * np.abs(z).max()), strict=True):
            kinks.append((layer, int(i), int(j)))
        for lyr, i, j in flips:
            if lyr == layer:
                mask[i, j] = not mask[i, j]
        masks.append(mask)
        h = z * mask
    loss, delta = _softmax_cross_entropy(z, y)
    grads = {}
    for k in range(len(MLP_LAYERS) - 1, -1, -1):
        layer = MLP_LAYERS[k]
        grads[f"{layer}/kernel"] = inputs[k].T @ delta
        grads[f"{layer}/bias"] = delta.sum(axis=0)
        if k:
            delta = (delta @ weights[f"{layer}/kernel"].astype(np.float64).T) * masks[k - 1]
    return loss, z, grads, kinks


def explain_by_kinks(ga: dict, x, y, weights: dict, dtype: str, max_kinks: int = 4) -> list | None:
    """The ReLU flips under which ``ga`` matches the float64 MLP reference, or None.

    Tries every assignment of the near-zero pre-activations (at most 2**max_kinks);
    an empty list means it matches with no flip at all."""
    *_, kinks = mlp_reference(x, y, weights)
    if len(kinks) > max_kinks:
        return None
    for r in range(len(kinks) + 1):
        for flips in itertools.combinations(kinks, r):
            _, _, ref, _ = mlp_reference(x, y, weights, frozenset(flips))
            per_var, overall, problems = compare_gradients(ga, ref)
            if verdict([*per_var.values(), overall], problems, dtype):
                return [list(f) for f in flips]
    return None
