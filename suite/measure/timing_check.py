"""Does the suite's timing distort what it measures?

The checks, in one process, on the same batches and the same model (one model trains
on both sides), in alternating blocks (ABBA) so that drift and order effects hit both
sides alike:

- **throughput**: the suite's chunked ``fit()`` (``steps_per_epoch`` chunks, the
  clock read at chunk ends after draining the device) against a plain, uninstrumented
  ``fit()`` over the same steps, timed only by an epoch-level callback. For native
  implementations: the suite's chunked native loop against one uninterrupted loop.
  A block goes over its steps as many times as make about ``BLOCK_SECONDS`` of work
  (a plain ``fit(epochs=E)`` timed per epoch against E of the suite's chunked fit()
  calls), so that a small model's block is not a tenth of a second of scheduler noise.
  The ratio's CI comes from the blocks (paired), not from steps.
- **epoch boundaries** (a diagnostic arm, Keras, blocks of two passes or more): the
  same plain fit() made one call per epoch, each epoch timed as before, so the time
  between epochs falls outside every epoch's clock, as it falls outside the suite's
  chunks (one fit() per epoch). The plain multi-epoch fit() ÷ this arm is what its
  epoch boundaries cost inside the epochs (on TensorFlow a stall freeing the previous
  epoch's tf.data iterator, docs/measured.md); the suite ÷ this arm is the suite's
  clock without them. All three arms run in the same blocks (ABCCBA).
- **latency** (the diagnostic): Keras' train function timed step by step inside
  ``fit()`` against a bare loop over the same train function and Keras' own iterator
  (``bare_steps`` in the backend module). Keras only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from suite import frameworks
from suite.core.chunks import plan_chunk_steps
from suite.core.config import RunConfig
from suite.core.data import Mnist, epoch_batches, preprocess
from suite.core.stats import Ratio, TimingSummary, paired_ratio, summarize
from suite.training.build import as_input
from suite.training.clock import (
    Baton,
    ChunkClock,
    Turns,
    synchronous_callbacks,
    time_train_function,
)
from suite.training.trainers import KerasTrainer, NativeTrainer

BLOCK_SECONDS = 2.0  # about this much work per block, as a compare chunk at most


@dataclass(frozen=True)
class TimingCheck:
    backend: str
    model: str
    impl: str
    steps_per_block: int  # distinct steps, gone over ``passes`` times per block
    blocks: int
    chunk_steps: int
    suite_examples_per_s: float  # median over blocks
    plain_examples_per_s: float
    throughput_ratio: Ratio  # suite / plain throughput, paired by block
    latency_suite: TimingSummary | None  # ms, Keras only
    latency_bare: TimingSummary | None
    passes: int = 1
    # the epoch-boundary arm (Keras, 2+ passes): the plain fit() one call per epoch
    epochwise_examples_per_s: float | None = None
    boundary_ratio: Ratio | None = None  # plain multi-epoch / one call per epoch, by block
    suite_vs_epochwise: Ratio | None = None  # suite / one call per epoch, by block

    @property
    def latency_ratio(self) -> float | None:
        """Suite median / bare median: 1.0 means the per-step timing adds nothing."""
        if self.latency_suite is None or self.latency_bare is None:
            return None
        return self.latency_suite.median / self.latency_bare.median


def _plain_keras(model, x, y, batch: int, epochs: int = 1) -> float:
    """Seconds of a plain fit() of ``epochs`` epochs over (x, y), summed over its epochs
    as a user's per-epoch timing would: epoch-level hooks only."""
    import keras

    bk, spans = frameworks.current(), []

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            spans.append(time.perf_counter())

        def on_epoch_end(self, epoch, logs=None):
            bk.drain(model)
            spans[-1] = time.perf_counter() - spans[-1]

    fit = dict(batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
    model.fit(x, y, callbacks=[EpochClock()], **fit)
    return sum(spans)


def _plain_native(model, x, y, batch: int, epochs: int = 1) -> float:
    """Seconds of one uninterrupted native loop, ``epochs`` times over (x, y), the loss
    read at the end."""
    start = time.perf_counter()
    loss = None
    for _ in range(epochs):
        for i in range(0, len(x) - batch + 1, batch):
            loss = model.train_step(model.to_batch(x[i : i + batch], y[i : i + batch]))
    float(loss)
    return time.perf_counter() - start


def check_timing(
    cfg: RunConfig,
    mnist: Mnist,
    steps: int = 160,
    blocks: int = 6,
    chunk_steps: int | None = None,
    passes: int | None = None,
) -> TimingCheck:
    """``chunk_steps``: the suite's chunk; by default the one ``compare`` plans for this
    configuration from this backend's step time (``plan_chunk_steps``), at most the
    block. ``passes`` over a block's steps per block; by default as many as make about
    ``BLOCK_SECONDS`` of work."""
    bk, b = frameworks.current(), cfg.batch_size
    x, y = _block_data(cfg, mnist, steps)
    steps = len(y) // b
    make = NativeTrainer if cfg.impl == "native" else KerasTrainer
    # one model on both sides, so the ratio compares the two ways of timing, not two
    # compiled copies whose memory placement alone can differ by several percent
    suite = plain = make(cfg)
    if cfg.impl != "native":  # a brought model's own input layout
        x = as_input(suite.model, x)
    native = cfg.impl == "native"
    drain = suite.model.drain if native else (lambda: bk.drain(suite.model))
    plain_run = _plain_native if native else _plain_keras
    plain_run(plain.model, x, y, b)  # compiles, untimed
    step_s = plain_run(plain.model, x, y, b) / steps
    chunk = min(chunk_steps or cfg.chunk_steps or plan_chunk_steps(cfg, [step_s]), steps)
    steps = steps // chunk * chunk  # whole chunks only: both sides train the same batches
    x, y = x[: steps * b], y[: steps * b]
    passes = passes or _passes(step_s * steps)  # from the pass just timed

    def suite_block() -> float:
        clock = ChunkClock(Turns(Baton()), drain)
        for _ in range(passes):  # one fit() per pass, as compare makes one per epoch
            suite.train_chunks(x, y, chunk, steps // chunk, clock)
        return sum(r.steps for r in clock.records) * b / sum(r.seconds for r in clock.records)

    def plain_block() -> float:
        return passes * steps * b / plain_run(plain.model, x, y, b, passes)

    def epochwise_block() -> float:  # one fit() per epoch: its boundaries off the clock
        return passes * steps * b / sum(plain_run(plain.model, x, y, b) for _ in range(passes))

    # a block of one pass has no epoch boundary inside its plain fit(): no third arm
    epochwise = None if native or passes < 2 else epochwise_block
    suite_block(), plain_block()  # warm up both at the block's size, untimed
    lat_suite, lat_bare = [], []

    def latency(block: int) -> None:  # the diagnostic against a bare loop, after each block
        if not native:
            ours_s, bare_s = _latency_pair(suite.model, bk, x, y, b, block % 2 == 0)
            lat_suite.extend(ours_s)
            lat_bare.extend(bare_s)

    ours, theirs, apart = _abba(suite_block, plain_block, blocks, latency, epochwise)
    return TimingCheck(
        cfg.backend, cfg.model, cfg.impl, steps, blocks,
        suite_examples_per_s=float(np.median(ours)),
        plain_examples_per_s=float(np.median(theirs)),
        throughput_ratio=paired_ratio(ours, theirs),
        latency_suite=summarize(lat_suite) if len(lat_suite) > 1 else None,
        latency_bare=summarize(lat_bare) if len(lat_bare) > 1 else None,
        chunk_steps=chunk, passes=passes,
        epochwise_examples_per_s=float(np.median(apart)) if apart else None,
        boundary_ratio=paired_ratio(theirs, apart) if apart else None,
        suite_vs_epochwise=paired_ratio(ours, apart) if apart else None,
    )  # fmt: skip


def _abba(suite_block, plain_block, blocks: int, after, third=None) -> tuple:
    """Throughput of ``blocks`` blocks each way, in ABBA order (ABCCBA with a ``third``
    arm); ``after(block)`` runs after each block. Returns the suite's, the plain and
    the third arm's throughputs (the last empty without a third arm)."""
    arms = [(suite_block, []), (plain_block, [])] + ([(third, [])] if third else [])
    for block in range(blocks):
        for run, out in arms if block % 2 == 0 else arms[::-1]:
            out.append(run())
        after(block)
    return arms[0][1], arms[1][1], arms[2][1] if third else []


def _block_data(cfg: RunConfig, mnist: Mnist, steps: int):
    """A block's batches: the first ``steps`` of epoch 0's order (one epoch at most, so
    every block sees distinct batches), preprocessed."""
    batches = epoch_batches(cfg.train_examples, cfg.batch_size, cfg.seed, 0)
    idx = batches[: min(steps, len(batches))].ravel()
    return preprocess(mnist.x_train[idx], cfg.data_format), mnist.y_train[idx].astype(np.int32)


def _latency_pair(model, bk, x, y, b: int, suite_first: bool) -> tuple[list, list]:
    """Per-step seconds of the suite's instrumented fit() and of the backend's bare loop
    over the same batches (each without its first two steps), in the order given."""
    ours, bare = [], []
    for method in ("suite", "bare") if suite_first else ("bare", "suite"):
        if method == "suite":
            timed = time_train_function(model)
            log = timed.log
            model.fit(x, y, batch_size=b, epochs=1, shuffle=False, verbose=0,
                      callbacks=synchronous_callbacks())  # fmt: skip
            timed.restore()
            ours = log.seconds[2:]
        else:
            bare = bk.bare_steps(model, x, y, b)[2:]
    return ours, bare


def _passes(pass_seconds: float) -> int:
    """Passes over a block's steps that make about ``BLOCK_SECONDS`` of work."""
    return max(1, round(BLOCK_SECONDS / pass_seconds)) if pass_seconds > 0 else 1
