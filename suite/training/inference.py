"""Inference speed, measured after a cell has trained, in turns of its own.

Two measures, each taken once per turn, so under ``compare`` they interleave with the
other participants' exactly as training chunks do (paired by round, same machine phase):

- **batch throughput**: Keras' own ``predict()`` over the test set at
  ``inference_batch`` (what a user scoring a data set calls: its data adapter, its
  compiled predict function per batch, outputs gathered into numpy), examples/s.
- **single-example latency**: ``predict_on_batch`` on one example (the compiled
  predict function a server calls per request, without predict()'s iterator), each
  call timed until its output is a numpy array on the host.

A first call of each (tracing, compilation, the partial last batch's shape) runs in a
set-up turn and is recorded apart. Every timed span ends with the result on the host
(``on_host``): a call that returns before its work is done (asynchronous dispatch) is
never timed as finished; ``drain_problem`` is the check that such a timer is caught.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from suite.core.results import InferenceRecord


class NotOnHost(TypeError):
    """A timed call returned something that is not yet a host array."""


def on_host(out):
    """The call's output as numpy, which waits until it is computed (a JAX array, a
    tensor, anything with ``__array__``; a torch tensor is copied off its device
    first); a tree of them (a model with several
    outputs) is walked. Anything else is refused: there is no way to wait for it."""
    if isinstance(out, (list, tuple)):
        return [on_host(o) for o in out]
    if isinstance(out, dict):
        return {k: on_host(v) for k, v in out.items()}
    if isinstance(out, np.ndarray):
        return out
    if hasattr(out, "__array__"):
        if hasattr(out, "detach") and hasattr(out, "cpu"):
            # a torch tensor, which numpy refuses while it is on a GPU (found on an H200)
            out = out.detach().cpu()
        return np.asarray(out)
    raise NotOnHost(f"a timed call returned {type(out).__name__}, not an array")


def timed(call, *args) -> float:
    """Seconds of ``call(*args)`` until its output is on the host."""
    start = time.perf_counter()
    on_host(call(*args))
    return time.perf_counter() - start


def drain_problem(timer, lazy_call, work_seconds: float, share: float = 0.5) -> str | None:
    """The must-fail check of an inference timer: ``lazy_call`` returns at once and
    its result becomes available ``work_seconds`` later (asynchronous dispatch); a
    timer that waits for the result reports at least ``share`` of that. Returns what
    is wrong, or None."""
    try:
        seconds = timer(lazy_call)
    except NotOnHost as e:
        return f"refused: {e}"
    if seconds < share * work_seconds:
        return (
            f"timed {seconds * 1e3:.2f} ms of a call whose result took "
            f"{work_seconds * 1e3:.0f} ms: the span ended before the work did"
        )
    return None


@dataclass(frozen=True)
class InferenceSetup:
    predict_first_s: float  # the first predict() over the test set: tracing included
    single_first_ms: float  # the first single-example call


def setup(model, x_test: np.ndarray, batch: int) -> InferenceSetup:
    """The first call of each measure (compilation, every batch shape), then two more
    single-example calls, untimed, before any timed turn."""
    first = timed(lambda: model.predict(x_test, batch_size=batch, verbose=0))
    single = timed(model.predict_on_batch, x_test[:1])
    for i in (1, 2):
        on_host(model.predict_on_batch(x_test[i : i + 1]))
    return InferenceSetup(first, single * 1e3)


def measure(model, x_test: np.ndarray, batch: int, calls: int, round_: int | None, start: int):
    """One turn: predict() over the test set, then ``calls`` single-example calls on
    consecutive test images from ``start``."""
    seconds = timed(lambda: model.predict(x_test, batch_size=batch, verbose=0))
    n = len(x_test)
    call = model.predict_on_batch
    single = [timed(call, x_test[(start + i) % n][None]) * 1e3 for i in range(calls)]
    return InferenceRecord(round=round_, examples=n, seconds=seconds, single_ms=single)


def run_inference(cfg, model, x_test: np.ndarray, turns, ending: dict):
    """The set-up turn, then ``cfg.inference_rounds`` measured turns. Called holding
    the turn of the cell's last evaluation (``ending`` says what it did); returns
    holding the last measured turn. Returns (set-up, records)."""
    turns.give(ending)
    turns.take()
    first = setup(model, x_test, cfg.inference_batch)
    records = []
    for r in range(cfg.inference_rounds):
        turns.give({"kind": "infer", "round_index": r})
        message = turns.take()
        b, calls = cfg.inference_batch, cfg.inference_calls
        records.append(measure(model, x_test, b, calls, message.get("round"), r * calls))
    return first, records
