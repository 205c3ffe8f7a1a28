"""Per-process settings and probes: the device, thread and precision settings in effect,
the machine's measured matmul rate, and this process's peak resident memory."""

from __future__ import annotations

import functools
from pathlib import Path

from suite import frameworks
from suite.core.config import RunConfig


def prepare(cfg: RunConfig) -> dict:
    """Apply device, thread and precision settings once per process; SuiteError if
    the device is missing. Returns the settings actually in effect."""
    applied = frameworks.current().configure(cfg.device, cfg.threads, cfg.allow_tf32)
    if cfg.replicas() > 1:  # the devices exist before the first op (TensorFlow needs that)
        applied["data_parallel"] = frameworks.engine(cfg.backend).engine_info(
            cfg.device, cfg.replicas()
        )
    applied["matmul_peak_gflops"] = _matmul_peak()
    return applied


@functools.cache
def _matmul_peak() -> float:
    """The rate a large float32 matmul reaches here, the yardstick for "% of peak":
    measured once per process (about a second), however many cells it prepares."""
    return round(frameworks.current().matmul_gflops(), 1)


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
