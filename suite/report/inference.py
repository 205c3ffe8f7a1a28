"""Inference rows: per (model, variant) and backend, predict() throughput over the test
set and single-example latency, each with its ratio to the best backend, paired by
round. Pure functions over grouped results (``suite.training.inference`` measures)."""

from __future__ import annotations

import numpy as np

from suite.core.stats import speed_verdict
from suite.report.groups import cells_for, geomean, median_or_none
from suite.report.tables import SPEED_THRESHOLD, speed_ratio


def predict_rates(run) -> dict[tuple, float]:
    """(schedule, round) -> examples/s of that turn's predict() over the test set."""
    return {
        (run.schedule, i.round): i.examples / i.seconds
        for i in run.inference
        if i.round is not None and i.seconds > 0
    }


def single_rates(run) -> dict[tuple, float]:
    """(schedule, round) -> single-example calls per second at that turn's median
    latency: a rate, so that ratios of rates are ratios of latencies."""
    return {
        (run.schedule, i.round): 1e3 / float(np.median(i.single_ms))
        for i in run.inference
        if i.round is not None and i.single_ms
    }


def inference_rows(cells: dict, model: str, var: str) -> list[dict]:
    """Per backend, fastest predict() first: examples/s (geometric mean over runs) and
    its time ratio to the fastest; single-example latency median and p99 over every
    call of every run, and its ratio to the lowest-latency backend's; each ratio with a
    95% CI paired by round (runs as units with 3 or more runs, as for training)."""
    per = {
        b: [r for r in runs if r.inference and r.predict_examples_per_s]
        for b, runs in cells_for(cells, model, var).items()
    }
    per = {b: runs for b, runs in per.items() if runs}
    if not per:
        return []
    thr = {b: geomean([r.predict_examples_per_s for r in runs]) for b, runs in per.items()}
    calls = {
        b: np.concatenate([i.single_ms for r in runs for i in r.inference])
        for b, runs in per.items()
    }
    fastest = max(thr, key=thr.get)
    quickest = min(calls, key=lambda b: float(np.median(calls[b])))
    rows = []
    for b in sorted(per, key=lambda b: -thr[b]):
        runs = per[b]
        p = (
            None
            if b == fastest
            else speed_ratio(runs, per[fastest], predict_rates, "predict_examples_per_s")
        )
        s = (
            None
            if b == quickest
            else speed_ratio(runs, per[quickest], single_rates, "single_median_ms", invert=True)
        )
        rows.append(
            {
                "backend": b,
                "model": model,
                "variant": var,
                "predict_examples_per_s": thr[b],
                "predict_ratio": p,
                "predict_verdict": "fastest" if p is None else speed_verdict(p, SPEED_THRESHOLD),
                "single_median_ms": float(np.median(calls[b])),
                "single_p99_ms": float(np.percentile(calls[b], 99)),
                "single_ratio": s,
                "single_verdict": "lowest" if s is None else speed_verdict(s, SPEED_THRESHOLD),
                "calls": int(calls[b].size),
                "rounds": sum(len(r.inference) for r in runs),
                "seeds": len(runs),
                "predict_first_s": median_or_none([r.predict_first_s for r in runs]),
                "single_first_ms": median_or_none([r.single_first_ms for r in runs]),
                "batch": runs[0].config.get("inference_batch"),
            }
        )
    return rows
