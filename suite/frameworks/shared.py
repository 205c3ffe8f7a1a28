"""What the per-framework modules share: Keras' Adam constants and cosine schedule (the
native baselines train as Keras does), the native model's interface, and the timer the
matmul probes use. No framework is imported here."""

from __future__ import annotations

import math
import time
from typing import Protocol

import numpy as np

# Keras' Adam defaults
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}


class NativeModel(Protocol):
    """What every per-framework native model provides (``suite.training`` uses only this)."""

    compiled: bool  # whether its train step runs compiled (jit / tf.function / compile)

    def to_batch(self, x: np.ndarray, y: np.ndarray):
        """Rows in the framework's own tensors, on the model's device: one batch, or k
        consecutive batches for one call of k steps."""

    def train_step(self, batch):
        """Queue one call: one optimiser step per ``batch_size`` rows of ``batch`` (k > 1
        runs k steps in one compiled call, as Keras' steps_per_execution; JAX and
        TensorFlow only). Returns the last step's loss as a framework scalar, unread:
        ``float()`` of it waits for this call and every call before it."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Logits as a numpy array (dropout off)."""

    def drain(self) -> None:
        """Wait until every queued step has finished on the device: the same wait a
        Keras cell gets from its runtime's ``drain`` before a clock is read."""


def total_steps(cfg) -> int:
    """Optimizer steps over the whole run: the cosine schedule decays to 0 over them."""
    return cfg.epochs * (cfg.train_examples // cfg.batch_size)


def cosine_rate(base: float, step: int, total: int) -> float:
    """keras.optimizers.schedules.CosineDecay with alpha=0, at 0-based ``step``."""
    return base * 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def best_seconds(run, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``run`` (which must wait for its own result)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
