"""Train and evaluate one cell (backend x model x seed x settings) with honest step timing.

Runs inside a process whose backend was chosen by ``suite.backends.select_backend``.
``impl="keras"`` trains with Keras' fit(); ``impl="native"`` with the framework-native
model from ``suite.native``; both share the batch order, timing and summary.
A Keras step is timed around Keras' own compiled train function (which fit() calls
once per step) until its loss is on the host and the device queue is drained, so
asynchronous dispatch cannot hide work and callbacks cost nothing inside the span. The first
``warmup_steps`` steps (tracing and compilation) are reported separately.
"""

from __future__ import annotations

import functools
import math
import random
import resource
import sys
import time
import traceback
from dataclasses import asdict, replace

import numpy as np

from models import get_model
from suite import backends
from suite.config import RunConfig
from suite.data import Mnist, epoch_batches, preprocess
from suite.fingerprint import fingerprint
from suite.results import EpochRecord, RunResult
from suite.stats import summarize, time_to_target
from suite.weights import initial_weights_for, load_weights

EVAL_BATCH = 1000


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the framework. Unlike keras.utils.set_random_seed this
    does not import TensorFlow into a torch or JAX process."""
    random.seed(seed)  # keras layers draw their default seeds from Python's random
    np.random.seed(seed)
    backends.current().seed(seed)


def build_compiled_model(cfg: RunConfig):
    """The model with shared initial weights, compiled with the cell's settings."""
    import keras

    spec = get_model(cfg.model)
    kwargs = {"data_format": cfg.data_format} if cfg.model == "cnn" else {}
    shape = (1, 28, 28) if cfg.data_format == "channels_first" else (28, 28, 1)
    seed_everything(cfg.seed)  # dropout masks; initial weights come from numpy below
    model = spec.build(input_shape=shape, **kwargs)
    load_weights(model, initial_weights_for(model, cfg.seed))
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


class StepLog:
    """Every step's seconds and loss; remembers the first non-finite loss."""

    def __init__(self, on_step=None):
        self.seconds, self.losses, self.diverged_at = [], [], None
        self.on_step = on_step or (lambda *a: None)

    def record(self, seconds: float, loss: float) -> bool:
        """Log one step; True when training must stop (the loss diverged)."""
        self.seconds.append(seconds)
        self.losses.append(loss)
        if not math.isfinite(loss) and self.diverged_at is None:
            self.diverged_at = len(self.seconds)
        self.on_step(len(self.seconds), loss, seconds)
        return self.diverged_at is not None


def time_train_function(model):
    """Wrap the model's compiled train function so each call is timed and waited for.

    ``fit`` calls ``model.train_function`` once per step (per execution with
    steps_per_execution > 1) and keeps an existing one, so the wrapper times
    exactly Keras' step: the call, including fetching its batch from Keras' own
    iterator, until the loss is on the host (the backend module's ``read_loss``
    waits for the device). Callbacks, logging and progress run outside the span.
    """
    bk = backends.current()
    model.make_train_function()
    inner = model.train_function

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = inner(*args, **kwargs)
        loss = bk.read_loss(out)
        elapsed = (time.perf_counter() - start) / model.steps_per_execution
        if timed.log.record(elapsed, loss):
            model.stop_training = True
        return out

    timed.log = StepLog()  # set to the caller's log before each fit()
    model.train_function = timed
    return timed


def synchronous_callbacks() -> list:
    """A no-op batch-end callback. Its presence makes Keras run callbacks in the
    training thread between steps instead of on a worker thread during the next
    step, where on a small machine they would compete with the step being timed."""
    import keras

    class Synchronous(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    return [Synchronous()]


class KerasTrainer:
    """Keras' own fit() per epoch, on the suite's batch order, its train function timed."""

    def __init__(self, cfg: RunConfig):
        self.cfg, self.model = cfg, build_compiled_model(cfg)
        self.resolved = {"jit_compile_resolved": bool(self.model.jit_compile)}
        self.timed = time_train_function(self.model)

    def train_epoch(self, x, y, log: StepLog) -> None:
        self.timed.log = log
        self.model.fit(x, y, batch_size=self.cfg.batch_size, epochs=1, shuffle=False, verbose=0)

    def predict(self, x):
        return self.model.predict(x, batch_size=EVAL_BATCH, verbose=0)


class NativeTrainer:
    """The framework-native model: batches converted outside the timed span, then
    each step timed around ``train_step``, which returns once the step is done."""

    def __init__(self, cfg: RunConfig):
        from suite import native
        from suite.weights import make_initial_weights

        spec = get_model(cfg.model)
        weights = make_initial_weights(spec.variable_shapes, cfg.seed)
        self.cfg, self.model = cfg, native.build(cfg.backend, cfg.model, weights, cfg)
        self.resolved = {"jit_compile_resolved": self.model.compiled}

    def train_epoch(self, x, y, log: StepLog) -> None:
        b = self.cfg.batch_size
        for i in range(0, len(x) - b + 1, b):
            batch = self.model.to_batch(x[i : i + b], y[i : i + b])
            start = time.perf_counter()
            loss = self.model.train_step(batch)
            if log.record(time.perf_counter() - start, loss):
                return

    def predict(self, x):
        return self.model.predict(x)


def prepare(cfg: RunConfig) -> dict:
    """Apply device, thread and precision settings once per process; SuiteError if
    the device is missing. Returns the settings actually in effect."""
    applied = backends.current().configure(cfg.device, cfg.threads, cfg.allow_tf32)
    applied["matmul_peak_gflops"] = _matmul_peak()
    return applied


@functools.cache
def _matmul_peak() -> float:
    """The rate a large float32 matmul reaches here, the yardstick for "% of peak":
    measured once per process (about a second), however many cells it prepares."""
    return round(backends.current().matmul_gflops(), 1)


def run_cell(
    cfg: RunConfig, mnist: Mnist, run_id: str, applied: dict, progress=None
) -> tuple[RunResult, object]:
    """Train one cell; returns the result and the trained model. Never raises for
    a failure inside training: that is recorded as status ``failed``."""
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
            "target_accuracy": spec.target_accuracy,
        },
    )
    env = fingerprint(cfg.backend, bk.device_info(cfg.device), settings)
    model = None
    try:
        x_train = preprocess(mnist.x_train[: cfg.train_examples], cfg.data_format)
        y_train = mnist.y_train[: cfg.train_examples].astype(np.int32)
        x_test = preprocess(mnist.x_test[: cfg.test_examples], cfg.data_format)
        y_test = mnist.y_test[: cfg.test_examples].astype(np.int64)
        trainer = (NativeTrainer if cfg.impl == "native" else KerasTrainer)(cfg)
        model = trainer.model
        settings.update(trainer.resolved)
        bk.reset_peak_memory(cfg.device)
        timer = StepLog(progress.step)
        history = []
        for epoch in range(cfg.epochs):
            batches = epoch_batches(len(y_train), cfg.batch_size, cfg.seed, epoch)
            order = batches.ravel()
            progress.epoch_start(epoch, len(batches))
            start, first = time.perf_counter(), len(timer.seconds)
            trainer.train_epoch(x_train[order], y_train[order], timer)
            train_seconds = time.perf_counter() - start
            steps = len(timer.seconds) - first
            if timer.diverged_at:
                # JSON has no NaN: the diverged step is recorded instead of the loss
                history.append(EpochRecord(epoch + 1, None, None, None, train_seconds, steps))
                break
            test_loss, test_acc, predicted = evaluate(trainer.predict, x_test, y_test)
            # Keras logs a running mean over the epoch; native logs per-step losses
            train_loss = (
                float(np.mean(timer.losses[first:])) if cfg.impl == "native" else timer.losses[-1]
            )
            history.append(
                EpochRecord(epoch + 1, train_loss, test_loss, test_acc, train_seconds, steps)
            )
            progress.epoch_end(history[-1])
        result = _summarise(cfg, spec, base, env, timer, history)
        if history and history[-1].test_accuracy is not None:
            wrong = np.nonzero(predicted != y_test)[0]
            result = replace(result, misclassified=[[int(i), int(predicted[i])] for i in wrong])
    except Exception as e:  # recorded, not raised: one failed cell must not stop the rest
        tb = traceback.format_exc(limit=-3)
        result = RunResult(
            **base,
            environment=env,
            status="failed",
            error=f"{type(e).__name__}: {e}\n{tb}",
            peak_rss_bytes=_peak_rss(),
        )
    return result, model


def _summarise(cfg, spec, base, env, timer, history) -> RunResult:
    warm = cfg.warmup_steps
    steady = timer.seconds[warm:] if len(timer.seconds) > warm else []
    summary = summarize(steady) if len(steady) >= 2 else None
    tta, ete = time_to_target(
        [h.train_seconds for h in history],
        [h.test_accuracy if h.test_accuracy is not None else -1 for h in history],
        spec.target_accuracy,
    )
    last = history[-1] if history else None
    return RunResult(
        **base,
        environment=env,
        status="diverged" if timer.diverged_at else "ok",
        diverged_step=timer.diverged_at,
        step_time_ms=summary,
        step_times_ms=[s * 1e3 for s in steady],
        warmup_ms=[s * 1e3 for s in timer.seconds[:warm]],
        first_step_ms=timer.seconds[0] * 1e3 if timer.seconds else None,
        throughput_examples_per_s=cfg.batch_size / (summary.median / 1e3) if summary else None,
        gflops_per_s=(
            3 * spec.flops_per_example * cfg.batch_size / (summary.median / 1e3) / 1e9
            if summary
            else None
        ),
        history=history,
        final_test_accuracy=last.test_accuracy if last else None,
        final_test_loss=last.test_loss if last else None,
        reached_target=tta is not None,
        time_to_accuracy_s=tta,
        epochs_to_accuracy=ete,
        total_train_seconds=sum(h.train_seconds for h in history),
        peak_rss_bytes=_peak_rss(),
        peak_device_bytes=backends.current().peak_device_memory(cfg.device),
    )


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class Progress:
    """Per-epoch lines on stderr; on a terminal also a live line within the epoch."""

    def __init__(self, cfg: RunConfig, stream=None, prefix: str = ""):
        self.cfg, self.stream = cfg, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.prefix = prefix or f"[{cfg.backend} {cfg.model} seed {cfg.seed}]"
        self.start = time.perf_counter()
        self.steps_in_epoch, self.epoch, self._last_draw = 0, 0, 0.0

    def epoch_start(self, epoch: int, steps: int) -> None:
        self.epoch, self.steps_in_epoch = epoch, steps

    def step(self, global_step: int, loss: float, seconds: float) -> None:
        if global_step == 1 or not self.tty:
            return
        now = time.perf_counter()
        if now - self._last_draw > 0.25:
            done = (global_step - 1) % self.steps_in_epoch + 1 if self.steps_in_epoch else 0
            self.stream.write(
                f"\r{self.prefix} epoch {self.epoch + 1}/{self.cfg.epochs} "
                f"step {done}/{self.steps_in_epoch} loss {loss:.4f} "
                f"{seconds * 1e3:.2f} ms/step\x1b[K"
            )
            self.stream.flush()
            self._last_draw = now

    def epoch_end(self, record: EpochRecord) -> None:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / record.epoch * (self.cfg.epochs - record.epoch)
        ms = record.train_seconds / max(record.steps, 1) * 1e3
        line = (
            f"{self.prefix} epoch {record.epoch}/{self.cfg.epochs} loss "
            f"{record.train_loss:.4f} test acc {record.test_accuracy:.2%} "
            f"{ms:.2f} ms/step (epoch mean) {record.train_seconds:.1f}s ETA {eta:.0f}s"
        )
        self.stream.write(("\r" if self.tty else "") + line + ("\x1b[K\n" if self.tty else "\n"))
        self.stream.flush()
