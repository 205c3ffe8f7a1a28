"""The clocks: turns, chunks and the latency log.

Two speed measures, never mixed:

- **training throughput** (ranks backends): Keras' own ``fit()`` left as a user runs
  it (no batch-level callbacks, no per-step host read, asynchronous dispatch intact),
  cut into chunks of consecutive steps with ``steps_per_epoch``; the clock is read
  only in ``on_epoch_begin``/``on_epoch_end`` of those chunk-epochs, after the device
  is drained (``ChunkClock``, ``chunk_callback``).
- **step latency** (a diagnostic): the first steps of the cell, each call of Keras'
  train function timed until its loss is on the host (``time_train_function``,
  ``StepLog``).

Every unit of work happens inside a turn handed out by a ``Baton``: alone the baton is
free; under ``compare`` a coordinator (``suite.rounds``) hands it to one backend at a
time, so the backends train in rounds.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

from suite import frameworks
from suite.core import noise
from suite.core.results import ChunkRecord


class Baton:
    """Turn-taking. Alone, every turn is free; ``suite.rounds.worker`` overrides both methods
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
    returns, so that fit()'s own wind-down (on TensorFlow, freeing the spent tf.data
    iterator, which sometimes waits out its autotuning thread: docs/measured.md) runs
    inside this turn, not during another backend's chunk; it is in no chunk's clock.
    Nothing runs between begin and end but the training fit() does: the machine's
    counters (``suite.core.noise``) are read just outside the clock."""

    def __init__(self, turns: Turns, drain, on_chunk=None):
        self.turns, self.drain, self.on_chunk = turns, drain, on_chunk or (lambda c: None)
        self.records: list[ChunkRecord] = []
        self.epoch, self._start, self._held = 1, None, None

    def begin(self) -> None:
        self.turns.take()
        self._machine = noise.sample(probes=True)  # before the clock: probes, counters
        self._cpu, self._start = time.process_time(), time.perf_counter()

    def end(self, steps: int, loss: float | None, hold: bool = False) -> bool:
        """Record the chunk; True when training must stop (the loss is not finite)."""
        self.drain()
        seconds = time.perf_counter() - self._start
        cpu = time.process_time() - self._cpu
        machine = noise.chunk_noise(self._machine, noise.sample())
        finite = loss is not None and math.isfinite(loss)
        record = ChunkRecord(
            epoch=self.epoch,
            steps=steps,
            seconds=seconds,
            cpu_seconds=cpu,
            threads=_threads(),
            round=self.turns.message.get("round"),
            loss=loss if finite else None,
            **machine,
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
    bk = frameworks.current()
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
