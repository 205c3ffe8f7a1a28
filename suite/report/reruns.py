"""What a rerun would show, and whether a precision target was met, as plain data: per
ranked time ratio (a backend ÷ its group's fastest) its interval, the runs behind it,
the 95% prediction interval for one more independent run, its half-width and, under
``compare --precision P``, whether the half-width reached P. Pure functions."""

from __future__ import annotations

import math

from suite.report.layout import ci_units


def half_width(q) -> float | None:
    """A ratio interval's relative half-width: exp(half its log width) − 1, so ±5%
    means the interval spans a factor 1.05 either way of the ratio (None: no interval)."""
    if q is None or q.low is None or q.low <= 0:
        return None
    return math.exp(math.log(q.high / q.low) / 2) - 1


def rerun_rows(speed: dict, target: float | None = None) -> list[dict]:
    """Per ranked ratio of ``speed`` ((model, variant) -> speed rows): the ratio and its
    interval, the units behind it, the rerun prediction interval (None with fewer than 3
    runs), the half-width and, with a ``target``, whether it was reached (only an
    interval with runs as units, from 3 runs or more, can reach one)."""
    out = []
    for (model, var), rows in speed.items():
        fastest = next((r["backend"] for r in rows if r["ratio"] is None), None)
        for r in rows:
            q = r["ratio"]
            if q is None:
                continue
            half = half_width(q)
            runs_based = q.pi_low is not None
            out.append(
                {
                    "model": model,
                    "variant": var,
                    "backend": r["backend"],
                    "fastest": fastest,
                    "ratio": q,
                    "units": ci_units(q),
                    "n": q.n,
                    "half_width": half,
                    "rerun": (q.pi_low, q.pi_high) if runs_based else None,
                    "reached": None
                    if target is None
                    else bool(runs_based and half is not None and half <= target),
                }
            )
    return out


def unmet(speed_by_device: list[dict], target: float) -> list[dict]:
    """The ranked ratios of every device group whose half-width has not reached
    ``target`` yet (what ``compare --precision`` keeps adding runs for)."""
    return [r for speed in speed_by_device for r in rerun_rows(speed, target) if not r["reached"]]
