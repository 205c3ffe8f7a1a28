"""How training is cut into timed chunks, and in which order backends take turns.

A chunk is a run of consecutive optimizer steps of Keras' own ``fit()`` with no
per-step instrumentation; its clock is read only at its ends, after the device is
drained. ``compare`` gives every backend the same chunk size for a model, so the
backends' chunks line up one to one and round ``i`` of one backend is paired with
round ``i`` of the others. Pure functions, no frameworks.
"""

from __future__ import annotations

MIN_CHUNK_STEPS = 20  # a chunk is at least this many steps ...
MAX_CHUNK_SECONDS = 2.0  # ... and at most about this much work ...
MIN_ROUNDS = 8  # ... and small enough that every cell gets this many chunks


def choose_chunk_steps(
    chunkable_steps: int,
    step_seconds: float,
    min_steps: int = MIN_CHUNK_STEPS,
    max_seconds: float = MAX_CHUNK_SECONDS,
    min_rounds: int = MIN_ROUNDS,
    epoch_steps: int | None = None,
) -> int:
    """Steps per chunk: about ``max_seconds`` of work at ``step_seconds`` per step (the
    slowest backend's estimate), at least ``min_steps``, but never so many that fewer
    than ``min_rounds`` chunks fit into ``chunkable_steps``; at most one epoch."""
    if chunkable_steps < 1:
        raise ValueError("no steps to cut into chunks")
    by_time = int(max_seconds / step_seconds) if step_seconds > 0 else chunkable_steps
    k = min(max(by_time, min_steps), chunkable_steps // min_rounds)
    if epoch_steps:
        k = min(k, epoch_steps)
    return max(k, 1)


def latency_plan(
    warmup_steps: int, latency_steps: int, steps_per_epoch: int, k: int = 1
) -> tuple[int, int]:
    """(warm-up steps, all steps) timed one by one at the start of epoch 1: warm-up at
    most half the epoch, then latency steps at most half of what is left, so the
    throughput chunks always keep the rest. With ``k`` steps per execution both are
    whole executions (rounded up), so no timed call is a shorter one (on JAX a
    shorter execution compiles again)."""
    executions = steps_per_epoch // k
    warm = min(-(-warmup_steps // k), executions // 2)
    extra = min(-(-latency_steps // k), (executions - warm) // 2)
    return warm * k, (warm + extra) * k


def plan_chunk_steps(cfg, step_seconds: list[float | None]) -> int:
    """The chunk size for a resolved RunConfig, from each backend's step estimate (the
    slowest one counts): the same for every backend training that cell; with
    steps_per_execution k, a multiple of k."""
    k = cfg.steps_per_execution
    steps_per_epoch = cfg.train_examples // cfg.batch_size
    _, head = latency_plan(cfg.warmup_steps, cfg.latency_steps, steps_per_epoch, k)
    chunkable = steps_per_epoch * cfg.epochs - head
    if chunkable < k:
        return k
    known = [s for s in step_seconds if s]
    chunk = choose_chunk_steps(
        chunkable, max(known) if known else 0.0, epoch_steps=steps_per_epoch - head or None
    )
    return max(chunk // k, 1) * k


def split_steps(steps: int, chunk: int, k: int = 1) -> tuple[list[tuple[int, int]], int]:
    """Cut ``steps`` into chunks of ``chunk`` or ``chunk + k`` steps (never a runt):
    ``([(size, count), ...], tail)``, each pair one ``fit()`` call with
    ``steps_per_epoch=size`` and ``epochs=count``. Fewer steps than ``chunk`` make one
    short chunk. With ``k`` steps per execution every chunk is whole executions and the
    last ``steps mod k`` steps are the ``tail``, trained outside the clock: a step
    means one optimizer step in every timed span."""
    executions, tail = divmod(max(steps, 0), k)
    if executions == 0:
        return [], tail
    n = max(executions // max(chunk // k, 1), 1)
    size, extra = divmod(executions, n)
    pairs = [(s * k, c) for s, c in ((size + 1, extra), (size, n - extra)) if c]
    return pairs, tail


def round_order(names: list[str], round_index: int) -> list[str]:
    """Who goes first in a round: rotations of ``names``, every other one reversed
    (ABC, CBA, BCA, ACB, CAB, BAC, ...), so no backend always follows the same one."""
    n = len(names)
    if n == 0:
        return []
    shift = (round_index // 2) % n
    rotated = names[shift:] + names[:shift]
    return rotated[::-1] if round_index % 2 else rotated
