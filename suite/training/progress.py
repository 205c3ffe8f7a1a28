"""Progress on stderr while a cell trains: a line per epoch; on a terminal also a live
line per chunk."""

from __future__ import annotations

import sys
import time

from suite.core.config import RunConfig
from suite.core.results import ChunkRecord, EpochRecord


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
        acc = "n/a" if record.test_accuracy is None else f"{record.test_accuracy:.2%}"
        line = (
            f"{self.prefix} epoch {record.epoch}/{self.cfg.epochs} loss "
            f"{record.train_loss:.4f} test acc {acc}, "
            f"throughput {speed} (plain fit, chunked){eta}"
        )
        self.stream.write(("\r" if self.tty else "") + line + ("\x1b[K\n" if self.tty else "\n"))
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own, e.g. what the cell does after training."""
        self.stream.write(f"{self.prefix} {text}\n")
        self.stream.flush()
