"""Does the suite's timing distort what it measures?

Times the same Keras train step two ways in one process, on the same batches:
the suite's way (``fit`` with its train function timed, as ``run`` does) and a
bare loop that calls Keras' compiled train function directly with no callbacks
(``bare_steps`` in the backend module). Blocks of the two alternate (ABBA) so
that drift and order effects hit both alike; warm-up steps of each block are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite import backends
from suite.config import RunConfig
from suite.data import Mnist, epoch_batches, preprocess
from suite.stats import TimingSummary, summarize


@dataclass(frozen=True)
class TimingCheck:
    backend: str
    model: str
    steps_per_block: int
    blocks: int
    suite: TimingSummary
    bare: TimingSummary

    @property
    def ratio(self) -> float:
        """Suite median / bare median: 1.0 means the timing adds nothing."""
        return self.suite.median / self.bare.median


def check_timing(
    cfg: RunConfig, mnist: Mnist, steps: int = 40, blocks: int = 12, warmup: int = 5
) -> TimingCheck:
    from suite.train import (
        StepLog,
        build_compiled_model,
        synchronous_callbacks,
        time_train_function,
    )

    bk = backends.current()
    idx = epoch_batches(len(mnist.y_train), cfg.batch_size, cfg.seed, 0)[:steps].ravel()
    x = preprocess(mnist.x_train[idx], cfg.data_format)
    y = mnist.y_train[idx].astype(np.int32)
    timed_model, bare_model = build_compiled_model(cfg), build_compiled_model(cfg)
    timed = time_train_function(timed_model)
    suite_times, bare_times = [], []
    for block in range(blocks):
        # alternate which method goes first (ABBA...), so order effects cancel
        for method in ("suite", "bare") if block % 2 == 0 else ("bare", "suite"):
            if method == "suite":
                log = timed.log = StepLog()
                timed_model.fit(
                    x,
                    y,
                    batch_size=cfg.batch_size,
                    epochs=1,
                    shuffle=False,
                    verbose=0,
                    callbacks=synchronous_callbacks(),
                )
                suite_times += log.seconds[warmup:]
            else:
                bare_times += bk.bare_steps(bare_model, x, y, cfg.batch_size)[warmup:]
    return TimingCheck(
        cfg.backend, cfg.model, steps, blocks, summarize(suite_times), summarize(bare_times)
    )
