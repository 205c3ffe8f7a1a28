"""The three networks and their training step in plain TensorFlow: tf.function with
GradientTape (jit_compile with --jit on), Adam by TensorFlow's fused ResourceApplyAdam."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from suite.frameworks.shared import ADAM, cosine_rate, total_steps

DROPOUT = {"drop1": 0.25, "drop2": 0.5}


class TfModel:
    def __init__(self, name: str, weights: dict, cfg):
        self.name, self.cfg, self.step = name, cfg, 0
        self.vars = {
            k: tf.Variable(v, name=k.replace("/", "_")) for k, v in sorted(weights.items())
        }
        self.m = {k: tf.Variable(tf.zeros_like(v)) for k, v in self.vars.items()}
        self.v = {k: tf.Variable(tf.zeros_like(v)) for k, v in self.vars.items()}
        self.t = tf.Variable(0.0)
        self.total = total_steps(cfg)
        self.compiled = cfg.jit == "on"
        self._step = tf.function(self._train, jit_compile=self.compiled, reduce_retracing=True)
        self._steps = tf.function(
            self._train_many, jit_compile=self.compiled, reduce_retracing=True
        )
        self._predict = tf.function(lambda x: self.forward(x, False))

    def forward(self, x, training: bool):
        p = self.vars

        def dense(h, layer):
            return tf.matmul(h, p[f"{layer}/kernel"]) + p[f"{layer}/bias"]

        flat = tf.reshape(x, (tf.shape(x)[0], -1))
        if self.name == "softmax":
            return dense(flat, "logits")
        if self.name == "mlp":
            return dense(tf.nn.relu(dense(tf.nn.relu(dense(flat, "hidden1")), "hidden2")), "logits")
        h = x
        for conv, which in (("conv1", "drop1"), ("conv2", "drop2")):
            h = tf.nn.relu(tf.nn.conv2d(h, p[f"{conv}/kernel"], 1, "VALID") + p[f"{conv}/bias"])
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            if training:
                h = tf.nn.dropout(h, DROPOUT[which])
        h = tf.nn.relu(dense(tf.reshape(h, (tf.shape(h)[0], -1)), "hidden"))
        return dense(h, "logits")

    def _train(self, x, y, lr):
        with tf.GradientTape() as tape:
            logits = self.forward(x, True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
            )
        names = list(self.vars)
        grads = tape.gradient(loss, [self.vars[k] for k in names])
        self.t.assign_add(1.0)
        b1, b2 = ADAM["beta_1"], ADAM["beta_2"]
        for k, g in zip(names, grads, strict=True):
            # TensorFlow's own fused Adam kernel; the same update rule as Keras' Adam
            tf.raw_ops.ResourceApplyAdam(
                var=self.vars[k].handle,
                m=self.m[k].handle,
                v=self.v[k].handle,
                beta1_power=b1**self.t,
                beta2_power=b2**self.t,
                lr=lr,
                beta1=b1,
                beta2=b2,
                epsilon=ADAM["epsilon"],
                grad=g,
            )
        return loss

    def _train_many(self, x, y, lrs):
        """Several steps in one call, as Keras' steps_per_execution: a graph loop over
        consecutive slices of ``batch_size`` rows."""
        b, loss = self.cfg.batch_size, tf.constant(0.0)
        for j in tf.range(tf.shape(lrs)[0]):
            loss = self._train(x[j * b : (j + 1) * b], y[j * b : (j + 1) * b], lrs[j])
        return loss

    def to_batch(self, x: np.ndarray, y: np.ndarray):
        return tf.convert_to_tensor(x), tf.convert_to_tensor(y.astype(np.int32))

    def train_step(self, batch):
        steps = int(batch[1].shape[0]) // self.cfg.batch_size
        rates = [self.cfg.learning_rate] * steps
        if self.cfg.schedule == "cosine":
            rates = [cosine_rate(rates[0], self.step + j, self.total) for j in range(steps)]
        self.step += steps
        if steps == 1:
            return self._step(*batch, tf.constant(rates[0], tf.float32))  # float() of it waits
        return self._steps(*batch, tf.constant(rates, tf.float32))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._predict(tf.convert_to_tensor(x)).numpy()

    def drain(self) -> None:
        tf.test.experimental.sync_devices()  # as suite.frameworks.tensorflow.runtime.drain


def build(name: str, weights: dict, cfg) -> TfModel:
    return TfModel(name, weights, cfg)
