"""Train and evaluate one cell (backend x model x seed x settings) and measure it honestly.

Runs inside a process whose backend was chosen by ``suite.backends.select_backend``.
Two speed measures, never mixed:

- **training throughput** (ranks backends): Keras' own ``fit()`` left as a user runs
  it (no batch-level callbacks, no per-step host read, asynchronous dispatch intact),
  cut into chunks of consecutive steps with ``steps_per_epoch``; the clock is read
  only in ``on_epoch_begin``/``on_epoch_end`` of those chunk-epochs, after the device
  is drained. ``fit()`` set-up, compilation, evaluation and waiting for a turn are
  outside every chunk. Native baselines run their own loop the same way.
- **step latency** (a diagnostic): the first steps of the cell, each call of Keras'
  train function timed until its loss is on the host. The first ``warmup_steps`` of
  them include tracing and compilation and are reported apart.

Every unit of work (set-up, a chunk, an evaluation) happens inside a turn handed
out by a ``Baton``: alone (``run``) the baton is free; under ``compare`` a
coordinator hands it to one backend at a time, so the backends train in rounds.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import random
import sys
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from models import get_model
from suite import backends
from suite.chunks import latency_plan, plan_chunk_steps, split_steps
from suite.config import RunConfig
from suite.data import Mnist, epoch_batches, preprocess
from suite.fingerprint import fingerprint
from suite.results import ChunkRecord, EpochRecord, RunResult
from suite.stats import summarize, time_to_target
from suite.weights import initial_weights_for, load_keras_weights, load_weights

EVAL_BATCH = 1000


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the framework. Unlike keras.utils.set_random_seed this
    does not import TensorFlow into a torch or JAX process."""
    random.seed(seed)  # keras layers draw their default seeds from Python's random
    np.random.seed(seed)
    backends.current().seed(seed)


def build_model(cfg: RunConfig):
    """The cell's model with the shared initial weights (or --load-weights), uncompiled."""
    spec = get_model(cfg.model)
    kwargs = {"data_format": cfg.data_format} if cfg.model == "cnn" else {}
    shape = (1, 28, 28) if cfg.data_format == "channels_first" else (28, 28, 1)
    seed_everything(cfg.seed)  # dropout masks; initial weights come from numpy below
    model = spec.build(input_shape=shape, **kwargs)
    if cfg.load_weights:
        load_keras_weights(model, cfg.load_weights)
    else:
        load_weights(model, initial_weights_for(model, cfg.seed))
    return model


def build_compiled_model(cfg: RunConfig):
    """The model compiled with the cell's settings; with --devices N, built and compiled
    inside the backend's data-parallel engine (``suite.parallel``)."""
    from suite.parallel import engine

    with engine(cfg.backend).scope(cfg.device, cfg.devices):
        return _compile(cfg, build_model(cfg))


def _compile(cfg: RunConfig, model):
    import keras

    rate = cfg.learning_rate
    if cfg.schedule == "cosine":
        total_steps = cfg.epochs * (cfg.train_examples // cfg.batch_size)
        rate = keras.optimizers.schedules.CosineDecay(cfg.learning_rate, total_steps)
    optimizer = keras.optimizers.get(
        {"class_name": cfg.optimizer, "config": {"learning_rate": rate}}
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile={"auto": "auto", "on": True, "off": False}[cfg.jit],
        steps_per_execution=cfg.steps_per_execution,
    )
    return model


def evaluate(predict, x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Test loss (mean cross-entropy from logits), accuracy and predicted labels, in numpy.
    ``predict`` maps a batch of images to logits."""
    logits = np.concatenate(
        [
            np.asarray(predict(x[i : i + EVAL_BATCH]), np.float64)
            for i in range(0, len(x), EVAL_BATCH)
        ]
    )
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(y)), y].mean())
    predicted = logits.argmax(axis=1)
    return loss, float((predicted == y).mean()), predicted


class Baton:
    """Turn-taking. Alone, every turn is free; ``suite.worker`` overrides both methods
    to wait for the coordinator's go and to report each finished unit to it."""

    def wait(self) -> dict:
        return {}

    def done(self, info: dict) -> None:
        pass


class Turns:
    """Holds or waits for the baton, so that every unit of work happens inside a turn."""

    def __init__(self, baton: Baton, holding: bool = False):
        self.baton, self.holding, self.message = baton, holding, {}
        self.since = time.perf_counter()  # when this turn began

    def take(self) -> dict:
        if not self.holding:
            self.message = self.baton.wait()
            self.holding = True
            self.since = time.perf_counter()
        return self.message

    def give(self, info: dict) -> None:
        self.baton.done(info)
        self.holding = False


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


class ChunkClock:
    """Times chunks: ``begin`` takes a turn and starts the clock; ``end`` drains the
    device, stops it, records the chunk and gives the turn back, or, for the last chunk
    of a ``fit()`` call (``hold=True``), keeps it until ``release`` after ``fit()``
    returns, so that fit()'s own wind-down (Keras re-creates its data iterator when one
    runs out, and tf.data starts prefetching) runs inside this turn, not during another
    backend's chunk. Nothing runs between begin and end but the training fit() does."""

    def __init__(self, turns: Turns, drain, on_chunk=None):
        self.turns, self.drain, self.on_chunk = turns, drain, on_chunk or (lambda c: None)
        self.records: list[ChunkRecord] = []
        self.epoch, self._start, self._held = 1, None, None

    def begin(self) -> None:
        self.turns.take()
        self._cpu, self._start = time.process_time(), time.perf_counter()

    def end(self, steps: int, loss: float | None, hold: bool = False) -> bool:
        """Record the chunk; True when training must stop (the loss is not finite)."""
        self.drain()
        seconds = time.perf_counter() - self._start
        cpu = time.process_time() - self._cpu
        finite = loss is not None and math.isfinite(loss)
        record = ChunkRecord(
            epoch=self.epoch,
            steps=steps,
            seconds=seconds,
            cpu_seconds=cpu,
            threads=_threads(),
            round=self.turns.message.get("round"),
            loss=loss if finite else None,
        )
        self.records.append(record)
        self.on_chunk(record)
        before = self._start - self.turns.since  # in this turn, before the clock started
        info = {"kind": "chunk", "steps": steps, "seconds": seconds, "before_clock_s": before}
        if hold or not finite:  # fit() winds down before returning: still our turn
            self._held = info
        else:
            self.turns.give(info)
        return not finite

    def release(self) -> None:
        """Give back a turn kept by ``end(hold=True)``."""
        if self._held is not None:
            info, self._held = self._held, None
            self.turns.give(info)


class StepLog:
    """Every timed call's seconds per step and loss; remembers the first step whose
    loss is not finite. A call is one step, or one execution of k steps (its time
    divided by k), never both in one log."""

    def __init__(self, steps_per_call: int = 1):
        self.seconds, self.losses, self.diverged_at = [], [], None
        self.steps_per_call = steps_per_call

    def record(self, call_seconds: float, loss: float) -> bool:
        """Log one call (its time per step); True when training must stop (the loss
        diverged)."""
        self.seconds.append(call_seconds / self.steps_per_call)
        self.losses.append(loss)
        if not math.isfinite(loss) and self.diverged_at is None:
            self.diverged_at = len(self.seconds) * self.steps_per_call
        return self.diverged_at is not None


def time_train_function(model):
    """Wrap the model's compiled train function so each call is timed and waited for
    (step latency). Returns the wrapper; ``restore()`` on it puts Keras' own back.

    ``fit`` calls ``model.train_function`` once per execution and keeps an existing
    one, so the wrapper times exactly Keras' call, including fetching its batch from
    Keras' own iterator, until the loss is on the host (``read_loss`` waits for the
    device). With steps_per_execution k each execution is logged once, at its time
    divided by k: one sample per timed call, so k > 1 never looks like k samples.
    """
    bk = backends.current()
    if not model.optimizer.built:  # as fit() would first: the train function's state
        strategy = getattr(model, "distribute_strategy", None)  # (and shardings) include it
        with strategy.scope() if strategy else contextlib.nullcontext():
            model.optimizer.build(model.trainable_variables)
    model.make_train_function()
    inner = model.train_function

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = inner(*args, **kwargs)
        loss = bk.read_loss(out)
        if timed.log.record(time.perf_counter() - start, loss):
            model.stop_training = True
        return out

    def restore():
        model.train_function = inner

    timed.log = StepLog(model.steps_per_execution)
    timed.restore = restore
    model.train_function = timed
    return timed


def synchronous_callbacks() -> list:
    """A no-op batch-end callback. Its presence makes Keras run callbacks in the
    training thread between steps instead of on a worker thread during the next
    step, where they would compete with the step being timed (latency only)."""
    import keras

    class Synchronous(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    return [Synchronous()]


def chunk_callback(clock: ChunkClock, steps: int, count: int, model):
    """Only epoch-level hooks, so fit() keeps its asynchronous batch dispatch: each
    Keras epoch of a ``steps_per_epoch`` fit is one chunk; the last of ``count`` keeps
    the turn until fit() has returned."""
    import keras

    class Chunk(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.begin()

        def on_epoch_end(self, epoch, logs=None):
            loss = (logs or {}).get("loss")
            loss = None if loss is None else float(loss)
            if clock.end(steps, loss, hold=epoch == count - 1):
                model.stop_training = True

    return Chunk()


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
        from suite import native
        from suite.weights import make_initial_weights

        spec = get_model(cfg.model)
        weights = make_initial_weights(spec.variable_shapes, cfg.seed)
        self.cfg, self.model = cfg, native.build(cfg.backend, cfg.model, weights, cfg)
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
        from suite.parallel.torch import DDPTrainer

        return DDPTrainer(cfg, mnist.cache_path)
    return KerasTrainer(cfg)


def prepare(cfg: RunConfig) -> dict:
    """Apply device, thread and precision settings once per process; SuiteError if
    the device is missing. Returns the settings actually in effect."""
    from suite.parallel import engine

    applied = backends.current().configure(cfg.device, cfg.threads, cfg.allow_tf32)
    if cfg.devices > 1:  # the devices exist before the first op (TensorFlow needs that)
        applied["data_parallel"] = engine(cfg.backend).engine_info(cfg.device, cfg.devices)
    applied["matmul_peak_gflops"] = _matmul_peak()
    return applied


@functools.cache
def _matmul_peak() -> float:
    """The rate a large float32 matmul reaches here, the yardstick for "% of peak":
    measured once per process (about a second), however many cells it prepares."""
    return round(backends.current().matmul_gflops(), 1)


def reset_peak_rss() -> None:
    """Reset this process's resident-memory high-water mark (Linux), so the next
    reading is this cell's own peak, not an earlier cell's or the parent's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss() -> int | None:
    """VmHWM of this process in bytes (since the last reset), or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def run_cell(
    cfg: RunConfig,
    mnist: Mnist,
    run_id: str,
    applied: dict,
    progress=None,
    turns: Turns | None = None,
    schedule: str | None = None,
) -> tuple[RunResult, object]:
    """Train one cell; returns the result and the trained model. Never raises for a
    failure inside training: that is recorded as status ``failed``. Returns holding
    the turn, so the caller can write the result inside it."""
    turns = turns or Turns(Baton())
    progress = progress or Progress(cfg)
    bk = backends.current()
    spec = get_model(cfg.model)
    settings = {**asdict(cfg), **applied}
    base = dict(
        run_id=run_id,
        cell=cfg.cell_name(),
        config=asdict(cfg),
        model={
            "params": spec.params,
            "flops_per_example": spec.flops_per_example,
            "train_flops_per_example": spec.train_flops_per_example,
            "target_accuracy": spec.target_accuracy,
        },
        schedule=schedule,
    )
    env = fingerprint(cfg.backend, bk.device_info(cfg.device), settings)
    model = trainer = None
    try:
        turns.take()  # set-up: building, compiling, the latency steps
        reset_peak_rss()
        bk.reset_peak_memory(cfg.device)
        x_train = preprocess(mnist.x_train[: cfg.train_examples], cfg.data_format)
        y_train = mnist.y_train[: cfg.train_examples].astype(np.int32)
        x_test = preprocess(mnist.x_test[: cfg.test_examples], cfg.data_format)
        y_test = mnist.y_test[: cfg.test_examples].astype(np.int64)
        trainer = make_trainer(cfg, mnist)
        model = trainer.model
        settings.update(trainer.resolved)
        steps_per_epoch = len(y_train) // cfg.batch_size
        b = cfg.batch_size
        order = epoch_batches(len(y_train), b, cfg.seed, 0).ravel()
        k = cfg.steps_per_execution
        warm, head = latency_plan(cfg.warmup_steps, cfg.latency_steps, steps_per_epoch, k)
        latency = trainer.latency_steps(x_train[order[: head * b]], y_train[order[: head * b]])
        warm //= latency.steps_per_call  # from here on counted in timed calls
        steady = latency.seconds[warm:]
        estimate = float(np.median(steady)) if steady else None
        turns.give({"kind": "setup", "step_seconds": estimate})
        message = turns.take()
        chunk = cfg.chunk_steps or message.get("chunk_steps")
        if not chunk:
            chunk = plan_chunk_steps(cfg, [estimate])
        # every cell, Keras or native, waits for its device the same way before a clock
        drain = model.drain if cfg.impl == "native" else (lambda: bk.drain(model))
        clock = ChunkClock(turns, drain, progress.chunk)
        history, diverged = [], latency.diverged_at
        for epoch in range(cfg.epochs):
            turns.take()  # the epoch's batch gather (a copy of the data) is work too
            clock.epoch = epoch + 1
            progress.epoch_start(epoch, steps_per_epoch)
            first = len(clock.records)
            if epoch:
                order = epoch_batches(len(y_train), b, cfg.seed, epoch).ravel()
            skip = head if epoch == 0 else 0
            x_epoch, y_epoch = x_train[order[skip * b :]], y_train[order[skip * b :]]
            offset = 0
            parts, tail = split_steps(steps_per_epoch - skip, chunk or 1, k)
            for size, count in [] if diverged else parts:
                turns.take()  # fit()'s own set-up happens inside a turn, outside the clock
                lo = offset * b
                if trainer.train_chunks(x_epoch[lo:], y_epoch[lo:], size, count, clock):
                    diverged = sum(r.steps for r in clock.records) + head
                    break
                offset += size * count
            if tail and not diverged:  # a shorter execution, outside the clock
                turns.take()
                trainer.train_untimed(x_epoch[offset * b :], y_epoch[offset * b :], tail)
            mine = clock.records[first:]
            turns.take()  # evaluation: inside a turn, outside every clock
            del x_epoch, y_epoch
            if diverged:
                seconds = _epoch_seconds(mine, steps_per_epoch)
                history.append(EpochRecord(epoch + 1, None, None, None, seconds, steps_per_epoch))
                break
            test_loss, test_acc, predicted = evaluate(trainer.predict, x_test, y_test)
            losses = [(r.loss, r.steps) for r in mine if r.loss is not None]
            train_loss = (
                float(sum(v * n for v, n in losses) / sum(n for _, n in losses))
                if losses
                else (float(np.mean(latency.losses)) if latency.losses else None)
            )
            history.append(
                EpochRecord(
                    epoch + 1,
                    train_loss,
                    test_loss,
                    test_acc,
                    _epoch_seconds(mine or clock.records, steps_per_epoch),
                    steps_per_epoch,
                )
            )
            progress.epoch_end(history[-1], mine)
            if epoch + 1 < cfg.epochs:
                turns.give({"kind": "eval", "epoch": epoch + 1, "test_accuracy": test_acc})
        result = _summarise(
            cfg, spec, base, env, clock, latency, warm, trainer, history, diverged, chunk
        )
        if history and history[-1].test_accuracy is not None:
            wrong = np.nonzero(predicted != y_test)[0]
            result = replace(result, misclassified=[[int(i), int(predicted[i])] for i in wrong])
    except Exception as e:  # recorded, not raised: one failed cell must not stop the rest
        tb = traceback.format_exc(limit=-3)
        turns.take()
        result = RunResult(
            **base,
            environment=env,
            status="failed",
            error=f"{type(e).__name__}: {e}\n{tb}",
            peak_rss_bytes=peak_rss(),
        )
    if hasattr(trainer, "close"):  # torch DDP: the other ranks stop with this cell
        trainer.close()
    return result, model


def _epoch_seconds(chunks: list[ChunkRecord], steps: int) -> float:
    """An epoch's training time on the throughput clock: its steps at the rate of its
    chunks (the few latency steps of epoch 1 are counted at that rate too)."""
    seconds, n = sum(r.seconds for r in chunks), sum(r.steps for r in chunks)
    return steps * seconds / n if n else 0.0


def _summarise(cfg, spec, base, env, clock, latency, warm, trainer, history, diverged, chunk):
    chunks = clock.records
    seconds, steps = sum(r.seconds for r in chunks), sum(r.steps for r in chunks)
    throughput = steps * cfg.batch_size / seconds if seconds > 0 else None
    steady = latency.seconds[warm:]
    tta, ete = time_to_target(
        [h.train_seconds for h in history],
        [h.test_accuracy if h.test_accuracy is not None else -1 for h in history],
        spec.target_accuracy,
    )
    last = history[-1] if history else None
    return RunResult(
        **base,
        environment=env,
        status="diverged" if diverged else "ok",
        diverged_step=diverged or None,
        throughput_examples_per_s=throughput,
        ms_per_step=seconds / steps * 1e3 if steps else None,
        chunks=chunks,
        chunk_steps=chunk,
        cpu_per_wall=sum(r.cpu_seconds for r in chunks) / seconds if seconds > 0 else None,
        gflops_per_s=spec.train_flops_per_example * throughput / 1e9 if throughput else None,
        latency_ms=summarize(steady) if len(steady) >= 2 else None,
        latency_steps_ms=[s * 1e3 for s in steady],
        warmup_ms=[s * 1e3 for s in latency.seconds[:warm]],
        first_step_ms=latency.seconds[0] * 1e3 if latency.seconds else None,
        fit_setup_s=trainer.fit_setup_s,
        history=history,
        final_test_accuracy=last.test_accuracy if last else None,
        final_test_loss=last.test_loss if last else None,
        reached_target=tta is not None,
        time_to_accuracy_s=tta,
        epochs_to_accuracy=ete,
        total_train_seconds=sum(h.train_seconds for h in history),
        peak_rss_bytes=peak_rss(),
        peak_device_bytes=backends.current().peak_device_memory(cfg.device),
    )


class Progress:
    """Per-epoch lines on stderr; on a terminal also a live line per chunk."""

    def __init__(self, cfg: RunConfig, stream=None, prefix: str = ""):
        self.cfg, self.stream = cfg, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.prefix = prefix or f"[{cfg.backend} {cfg.model} seed {cfg.seed}]"
        self.start = time.perf_counter()
        self.steps_in_epoch, self.epoch, self.done = 0, 0, 0

    def epoch_start(self, epoch: int, steps: int) -> None:
        self.epoch, self.steps_in_epoch, self.done = epoch, steps, 0

    def chunk(self, record: ChunkRecord) -> None:
        self.done += record.steps
        if not self.tty:
            return
        ex = record.steps * self.cfg.batch_size / record.seconds if record.seconds else 0
        self.stream.write(
            f"\r{self.prefix} epoch {self.epoch + 1}/{self.cfg.epochs} "
            f"~{self.done}/{self.steps_in_epoch} steps, {ex:,.0f} examples/s\x1b[K"
        )
        self.stream.flush()

    def epoch_end(self, record: EpochRecord, chunks: list[ChunkRecord]) -> None:
        seconds, steps = sum(c.seconds for c in chunks), sum(c.steps for c in chunks)
        speed = f"{steps * self.cfg.batch_size / seconds:,.0f} examples/s" if seconds else "-"
        elapsed = time.perf_counter() - self.start
        left = self.cfg.epochs - record.epoch
        eta = f", ETA {elapsed / record.epoch * left:.0f}s" if left else ""
        line = (
            f"{self.prefix} epoch {record.epoch}/{self.cfg.epochs} loss "
            f"{record.train_loss:.4f} test acc {record.test_accuracy:.2%}, "
            f"throughput {speed} (plain fit, chunked){eta}"
        )
        self.stream.write(("\r" if self.tty else "") + line + ("\x1b[K\n" if self.tty else "\n"))
        self.stream.flush()
