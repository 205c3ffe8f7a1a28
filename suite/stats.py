"""Timing statistics: pure functions over lists of seconds (no I/O, no frameworks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps


@dataclass(frozen=True)
class TimingSummary:
    """Summary of per-step times, in milliseconds."""

    n: int
    median: float
    mean: float
    iqr: float
    p10: float
    p90: float
    ci_low: float  # bootstrap 95% confidence interval of the median
    ci_high: float
    cv: float  # coefficient of variation, std / mean


def summarize(
    seconds, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> TimingSummary:
    """Summarise step times given in seconds; percentiles use linear interpolation."""
    ms = np.asarray(seconds, dtype=np.float64) * 1e3
    if ms.size == 0:
        raise ValueError("no step times to summarise")
    q10, q25, q50, q75, q90 = np.percentile(ms, [10, 25, 50, 75, 90])
    low, high = median_ci(ms, confidence, resamples, seed)
    mean = float(ms.mean())
    return TimingSummary(
        n=int(ms.size),
        median=float(q50),
        mean=mean,
        iqr=float(q75 - q25),
        p10=float(q10),
        p90=float(q90),
        ci_low=low,
        ci_high=high,
        cv=float(ms.std(ddof=1) / mean) if ms.size > 1 and mean > 0 else 0.0,
    )


def median_ci(
    values, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (seeded, so repeatable)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2 or np.all(v == v[0]):
        m = float(np.median(v))
        return m, m
    res = sps.bootstrap(
        (v,),
        np.median,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def coefficient_of_variation(values) -> float:
    """Sample std / mean; used for the spread of repeated runs' medians."""
    v = np.asarray(values, dtype=np.float64)
    return float(v.std(ddof=1) / v.mean())


def time_to_target(epoch_seconds, accuracies, target: float) -> tuple[float | None, int | None]:
    """Cumulative training time and epoch count until accuracy first reaches ``target``."""
    elapsed = 0.0
    for epoch, (seconds, acc) in enumerate(zip(epoch_seconds, accuracies, strict=True), 1):
        elapsed += seconds
        if acc >= target:
            return elapsed, epoch
    return None, None


def ratio_of_medians(
    a, b, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """median(a) / median(b) with a percentile-bootstrap CI (each sample resampled on
    its own, since the two are independent runs)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    ra = np.median(rng.choice(a, (resamples, a.size)), axis=1)
    rb = np.median(rng.choice(b, (resamples, b.size)), axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(ra / rb, [tail, 100 - tail])
    return float(np.median(a) / np.median(b)), float(low), float(high)
