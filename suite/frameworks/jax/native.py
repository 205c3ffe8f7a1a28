"""The three networks and their training step in plain JAX: jax.jit, lax.conv, optax Adam."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from suite.frameworks.shared import ADAM, total_steps

DROPOUT = {"drop1": 0.25, "drop2": 0.5}


def forward(params: dict, x, name: str, key=None):
    """Logits for NHWC images; dropout only when ``key`` is given (training)."""

    def dense(h, layer):
        return h @ params[f"{layer}/kernel"] + params[f"{layer}/bias"]

    def drop(h, which, k):
        if k is None:
            return h
        keep = 1.0 - DROPOUT[which]
        return jnp.where(jax.random.bernoulli(k, keep, h.shape), h / keep, 0.0)

    if name == "softmax":
        return dense(x.reshape(len(x), -1), "logits")
    if name == "mlp":
        h = jax.nn.relu(dense(x.reshape(len(x), -1), "hidden1"))
        return dense(jax.nn.relu(dense(h, "hidden2")), "logits")
    keys = jax.random.split(key) if key is not None else (None, None)
    h = x
    for conv, which, k in (("conv1", "drop1", keys[0]), ("conv2", "drop2", keys[1])):
        h = lax.conv_general_dilated(
            h, params[f"{conv}/kernel"], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        h = jax.nn.relu(h + params[f"{conv}/bias"])
        h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = drop(h, which, k)
    h = jax.nn.relu(dense(h.reshape(len(h), -1), "hidden"))
    return dense(h, "logits")


class JaxModel:
    def __init__(self, name: str, weights: dict, cfg):
        self.name, self.cfg = name, cfg
        self.params = {k: jnp.asarray(v) for k, v in weights.items()}  # Keras layout as is
        total = total_steps(cfg)
        rate = (
            optax.cosine_decay_schedule(cfg.learning_rate, total)
            if cfg.schedule == "cosine"
            else cfg.learning_rate
        )
        self.tx = optax.adam(rate, b1=ADAM["beta_1"], b2=ADAM["beta_2"], eps=ADAM["epsilon"])
        self.opt_state = self.tx.init(self.params)
        self.key = jax.random.PRNGKey(cfg.seed)
        self.compiled = cfg.jit != "off"
        # params, optimizer state and key are replaced every step: donate their buffers,
        # as Keras' own jitted train step does
        self._step = (
            jax.jit(self._train, donate_argnums=(0, 1, 4)) if self.compiled else self._train
        )
        self._steps = (
            jax.jit(self._train_many, donate_argnums=(0, 1, 4))
            if self.compiled
            else self._train_many
        )
        self._predict = (
            jax.jit(lambda p, x: forward(p, x, name))
            if self.compiled
            else (lambda p, x: forward(p, x, name))
        )

    def _train(self, params, opt_state, x, y, key):
        key, sub = jax.random.split(key)  # inside the step: no extra dispatch per step

        def loss_fn(p):
            logits = forward(p, x, self.name, sub if self.name == "cnn" else None)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = self.tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, key, loss

    def _train_many(self, params, opt_state, x, y, key):
        """Several steps in one call, as Keras' steps_per_execution: ``lax.scan`` over
        consecutive slices of ``batch_size`` rows."""
        b = self.cfg.batch_size
        xs, ys = x.reshape((-1, b) + x.shape[1:]), y.reshape((-1, b))

        def step(carry, batch):
            p, o, k = carry
            p, o, k, loss = self._train(p, o, *batch, k)
            return (p, o, k), loss

        (params, opt_state, key), losses = lax.scan(step, (params, opt_state, key), (xs, ys))
        return params, opt_state, key, losses[-1]

    def to_batch(self, x: np.ndarray, y: np.ndarray):
        return jax.device_put(x), jax.device_put(y.astype(np.int32))

    def train_step(self, batch):
        run = self._step if batch[1].shape[0] == self.cfg.batch_size else self._steps
        self.params, self.opt_state, self.key, loss = run(
            self.params, self.opt_state, *batch, self.key
        )
        return loss  # float() of it blocks until this call (and so every earlier one) is done

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._predict(self.params, jnp.asarray(x)))

    def drain(self) -> None:
        jax.block_until_ready((self.params, self.opt_state))


def build(name: str, weights: dict, cfg) -> JaxModel:
    return JaxModel(name, weights, cfg)
