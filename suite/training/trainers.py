"""The ways a cell trains, behind one interface (latency steps, chunks on the
throughput clock, an untimed tail, predict): Keras' own ``fit()``, the framework-native
loop, torch's DistributedDataParallel loop for ``--devices N`` on torch, and one host's
part of training over several (``--hosts``): JAX's fit() on the host's rows, or
torch's and TensorFlow's replica loops. Host 0 evaluates; the other hosts train only."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import numpy as np

from models import get_model
from suite import frameworks
from suite.core.config import RunConfig
from suite.core.data import Mnist
from suite.core.hosts import Place
from suite.core.weights import make_initial_weights
from suite.training.build import EVAL_BATCH, build_compiled_model, build_model
from suite.training.clock import (
    ChunkClock,
    StepLog,
    chunk_callback,
    synchronous_callbacks,
    time_train_function,
)


@dataclass(frozen=True)
class Feed:
    """What one host feeds of each global batch of ``batch`` rows: its ``batch / hosts``
    rows from ``index * batch / hosts`` on (all of them with one host)."""

    batch: int
    hosts: int = 1
    index: int = 0

    @property
    def size(self) -> int:
        return self.batch // self.hosts

    def rows(self, a: np.ndarray) -> np.ndarray:
        """This host's rows of every whole global batch in ``a``."""
        if self.hosts == 1:
            return a
        n = len(a) // self.batch
        lo = self.index * self.size
        whole = a[: n * self.batch].reshape(n, self.batch, *a.shape[1:])
        return whole[:, lo : lo + self.size].reshape(n * self.size, *a.shape[1:])


@contextlib.contextmanager
def _no_distribution():
    """Keras' global distribution unset (JAX's DataParallel), restored afterwards."""
    import keras

    before = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(before)


class LocalCopy:
    """Host 0's evaluation over several hosts: the trained weights copied into a model
    on this host alone, outside every engine, so that predicting needs no other host."""

    def __init__(self, cfg: RunConfig):
        self.cfg, self.local = cfg, None

    def predict(self, model, x):
        import keras

        with _no_distribution():
            if self.local is None:
                self.local = build_model(self.cfg)
            self.local.set_weights([keras.ops.convert_to_numpy(v.value) for v in model.weights])
            return self.local.predict(x, batch_size=EVAL_BATCH, verbose=0)


class KerasTrainer:
    """Keras' own fit() on the suite's batch order; over several hosts (JAX), fit() on
    this host's rows of every global batch (``feed``)."""

    evaluates = True

    def __init__(self, cfg: RunConfig, feed: Feed | None = None):
        self.cfg, self.model = cfg, build_compiled_model(cfg)
        self.feed = feed or Feed(cfg.batch_size)
        self.copy = LocalCopy(cfg) if self.feed.hosts > 1 else None
        self.evaluates = self.feed.index == 0
        self.resolved = {"jit_compile_resolved": bool(self.model.jit_compile)}
        self.fit_setup_s = 0.0

    def latency_steps(self, x, y) -> StepLog:
        """Train on (x, y) with every step timed and waited for (the diagnostic)."""
        timed = time_train_function(self.model)
        try:
            self.model.fit(
                self.feed.rows(x),
                self.feed.rows(y),
                batch_size=self.feed.size,
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
                self.feed.rows(x[: size * count * b]),
                self.feed.rows(y[: size * count * b]),
                batch_size=self.feed.size,
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
        b, feed = self.cfg.batch_size, self.feed
        rows = feed.rows(x[: steps * b]), feed.rows(y[: steps * b])
        self.model.fit(*rows, batch_size=feed.size, shuffle=False, verbose=0)

    def predict(self, x):
        if self.copy is not None:
            return self.copy.predict(self.model, x)
        return self.model.predict(x, batch_size=EVAL_BATCH, verbose=0)


class ReplicaTrainer:
    """A replica of torch's DDP loop (rank 0 of N here, or one host's rank) or of
    TensorFlow's MultiWorkerMirroredStrategy loop: ``replica.step(x, y)`` takes the
    global batch and trains this replica's shard of it, one step per call. Replica 0
    evaluates: over several hosts on a local copy of the weights. ``drain``: the
    replica's own wait before a clock reading where it has one, else the backend's."""

    def __init__(self, cfg: RunConfig, replica, index: int):
        self.cfg, self.replica, self.model = cfg, replica, replica.model
        self.copy = LocalCopy(cfg) if cfg.hosts > 1 else None
        self.evaluates = index == 0
        self.drain = getattr(replica, "drain", None)
        self.resolved = {"jit_compile_resolved": False, **getattr(replica, "resolved", {})}
        self.fit_setup_s = 0.0

    def latency_steps(self, x, y) -> StepLog:
        log, b = StepLog(), self.cfg.batch_size
        for i in range(0, len(x) - b + 1, b):
            start = time.perf_counter()
            loss = float(self.replica.step(x[i : i + b], y[i : i + b]))
            if log.record(time.perf_counter() - start, loss):
                break
        return log

    def train_chunks(self, x, y, size: int, count: int, clock: ChunkClock) -> bool:
        b = self.cfg.batch_size
        for c in range(count):
            clock.begin()
            loss = None
            for i in range(c * size * b, (c + 1) * size * b, b):
                loss = self.replica.step(x[i : i + b], y[i : i + b])
            if clock.end(size, float(loss)):
                return True
        return False

    def train_untimed(self, x, y, steps: int) -> None:
        b = self.cfg.batch_size
        for i in range(0, steps * b, b):
            self.replica.step(x[i : i + b], y[i : i + b])

    def predict(self, x):
        if self.copy is not None:
            return self.copy.predict(self.model, x)
        return self.model.predict(x, batch_size=EVAL_BATCH, verbose=0)

    def close(self) -> None:
        self.replica.close()


def host_trainer(cfg: RunConfig, place: Place):
    """This process's part of training over ``cfg.hosts`` hosts (``place``: which
    process of the cluster): JAX's fit() on its rows, or torch's rank / TensorFlow's
    worker in the suite's loops."""
    replica = frameworks.engine(cfg.backend).host_replica(cfg, place, build_compiled_model)
    if replica is None:  # the engine is Keras' fit(), on this host's rows
        return KerasTrainer(cfg, Feed(cfg.batch_size, cfg.hosts, place.index))
    return ReplicaTrainer(cfg, replica, place.index)


class NativeTrainer:
    """The framework-native model in its own loop: each batch converted and its step
    queued inside the clock, the loss read only at a chunk's end (or, for latency,
    after every step)."""

    evaluates = True

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


def make_trainer(cfg: RunConfig, mnist: Mnist, place: Place | None = None):
    """Keras' fit() (on one device or under JAX's or TensorFlow's engine), the native
    loop, torch's DDP loop for --devices N on torch, or this host's part over several."""
    if place is not None:
        return host_trainer(cfg, place)
    if cfg.impl == "native":
        return NativeTrainer(cfg)
    if cfg.loop == "torch-ddp":
        ranks = frameworks.engine(cfg.backend).DDPRanks(cfg, build_model, mnist.cache_path)
        return ReplicaTrainer(cfg, ranks, 0)
    return KerasTrainer(cfg)
