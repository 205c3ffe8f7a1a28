"""The three ways a cell trains, behind one interface (latency steps, chunks on the
throughput clock, an untimed tail, predict): Keras' own ``fit()``, the framework-native
loop, and torch's DistributedDataParallel loop for ``--devices N`` on torch."""

from __future__ import annotations

import time

from models import get_model
from suite import frameworks
from suite.core.config import RunConfig
from suite.core.data import Mnist
from suite.core.weights import make_initial_weights
from suite.training.build import EVAL_BATCH, build_compiled_model, build_model
from suite.training.clock import (
    ChunkClock,
    StepLog,
    chunk_callback,
    synchronous_callbacks,
    time_train_function,
)


class KerasTrainer:
    """Keras' own fit() on the suite's batch order."""

    def __init__(self, cfg: RunConfig):
        self.cfg, self.model = cfg, build_compiled_model(cfg)
        self.resolved = {"jit_compile_resolved": bool(self.model.jit_compile)}
        self.fit_setup_s = 0.0

    def latency_steps(self, x, y) -> StepLog:
        """Train on (x, y) with every step timed and waited for (the diagnostic)."""
        timed = time_train_function(self.model)
        try:
            self.model.fit(
                x,
                y,
                batch_size=self.cfg.batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=synchronous_callbacks(),
            )
        finally:
            timed.restore()
        return timed.log

    def train_chunks(self, x, y, size: int, count: int, clock: ChunkClock) -> bool:
        """``count`` chunks of ``size`` steps in one plain fit(); True if it diverged."""
        import keras

        b, trainer = self.cfg.batch_size, self
        start, done = time.perf_counter(), len(clock.records)

        class Setup(keras.callbacks.Callback):  # fit()'s set-up ends where training begins
            def on_train_begin(self, logs=None):
                trainer.fit_setup_s += time.perf_counter() - start

        try:
            self.model.fit(
                x[: size * count * b],
                y[: size * count * b],
                batch_size=b,
                epochs=count,
                steps_per_epoch=size,
                shuffle=False,
                verbose=0,
                callbacks=[Setup(), chunk_callback(clock, size, count, self.model)],
            )
        finally:
            clock.release()
        return any(r.loss is None for r in clock.records[done:])

    def train_untimed(self, x, y, steps: int) -> None:
        """The epoch's last ``steps`` (fewer than one execution): trained, not timed."""
        b = self.cfg.batch_size
        self.model.fit(x[: steps * b], y[: steps * b], batch_size=b, shuffle=False, verbose=0)

    def predict(self, x):
        return self.model.predict(x, batch_size=EVAL_BATCH, verbose=0)


class NativeTrainer:
    """The framework-native model in its own loop: each batch converted and its step
    queued inside the clock, the loss read only at a chunk's end (or, for latency,
    after every step)."""

    def __init__(self, cfg: RunConfig):
        spec = get_model(cfg.model)
        weights = make_initial_weights(spec.variable_shapes, cfg.seed)
        self.cfg, self.model = cfg, frameworks.build_native(cfg.backend, cfg.model, weights, cfg)
        self.resolved = {"jit_compile_resolved": self.model.compiled}
        self.fit_setup_s = 0.0

    def _call(self, x, y):
        return self.model.train_step(self.model.to_batch(x, y))

    def latency_steps(self, x, y) -> StepLog:
        """Each call (k = steps_per_execution steps) timed until its loss is read."""
        k = self.cfg.steps_per_execution
        log, rows = StepLog(k), k * self.cfg.batch_size
        for i in range(0, len(x) - rows + 1, rows):
            start = time.perf_counter()
            loss = float(self._call(x[i : i + rows], y[i : i + rows]))
            if log.record(time.perf_counter() - start, loss):
                break
        return log

    def train_chunks(self, x, y, size: int, count: int, clock: ChunkClock) -> bool:
        rows = self.cfg.steps_per_execution * self.cfg.batch_size  # one call
        chunk_rows = size * self.cfg.batch_size
        for c in range(count):
            clock.begin()
            loss = None
            for i in range(c * chunk_rows, (c + 1) * chunk_rows, rows):
                loss = self._call(x[i : i + rows], y[i : i + rows])
            # one read, of the last step's loss, waits for every step of the chunk
            if clock.end(size, float(loss)):
                return True
        return False

    def train_untimed(self, x, y, steps: int) -> None:
        """The epoch's last ``steps`` (fewer than one call of k): one shorter call."""
        rows = steps * self.cfg.batch_size
        float(self._call(x[:rows], y[:rows]))

    def predict(self, x):
        return self.model.predict(x)


def make_trainer(cfg: RunConfig, mnist: Mnist):
    """Keras' fit() (on one device or under JAX's or TensorFlow's engine), the native
    loop, or torch's DDP loop for --devices N on torch."""
    if cfg.impl == "native":
        return NativeTrainer(cfg)
    if cfg.loop == "torch-ddp":
        ddp = frameworks.engine("torch").DDPTrainer
        return ddp(cfg, build_model, StepLog, mnist.cache_path)
    return KerasTrainer(cfg)
