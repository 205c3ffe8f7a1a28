"""Start-up against step time: when has the backend that starts slower but steps faster
done as much work as the one that starts first?

From a fresh process, a backend has finished its first training step after ``start``
seconds (import, build, compile or trace, the step itself) and each later step takes
``step`` seconds. By wall time ``T >= start`` it has done ``1 + (T - start) / step``
steps. Two backends A and B have done the same work at

    T* = (start_a * step_b - start_b * step_a) / (step_b - step_a)

which is a catch-up only when one starts later and steps faster; then A has done
``1 + (T* - start_a) / step_a`` steps. A horizon (e.g. one epoch's steps) turns a later
catch-up into "never within it". Pure arithmetic, tested on synthetic timings; the
interval over independent fresh-process repeats is a t-interval on log T* (the repeats
are the units), open above when a repeat never catches up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class CatchUp:
    """Who starts first and who steps faster, and when the faster stepper has caught up:
    ``seconds`` (wall time from a fresh process) and ``steps`` (the faster stepper's), or
    None with ``never`` saying why."""

    first: str  # the backend that finishes its first step first
    faster: str  # the backend with the shorter step
    seconds: float | None
    steps: float | None
    never: str = ""  # "": it catches up; else why not ("ahead from the first step", ...)

    def words(self) -> str:
        if self.never:
            return self.never
        return f"{self.faster} catches up with {self.first} after {self.seconds:.3g} s"


def catch_up(
    a: str,
    start_a: float,
    step_a: float,
    b: str,
    start_b: float,
    step_b: float,
    horizon_steps: float | None = None,
) -> CatchUp:
    """The catch-up point of two backends (seconds to the end of the first step, then
    seconds per step); ``horizon_steps``: no catch-up counts after that many steps."""
    for value in (start_a, step_a, start_b, step_b):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"start-up and step times must be positive, got {value}")
    first = a if start_a <= start_b else b
    faster = a if step_a < step_b else b
    if step_a == step_b or first == faster:
        who = first if first == faster else "neither"
        never = f"{who} ahead from the first step" if step_a != step_b else "same step time"
        return CatchUp(first, faster, None, None, never)
    late_start, fast_step = (start_a, step_a) if faster == a else (start_b, step_b)
    early_start, slow_step = (start_b, step_b) if faster == a else (start_a, step_a)
    seconds = (late_start * slow_step - early_start * fast_step) / (slow_step - fast_step)
    steps = 1 + (seconds - late_start) / fast_step
    if horizon_steps is not None and steps > horizon_steps:
        return CatchUp(first, faster, None, None, f"never within {horizon_steps:,.0f} steps")
    return CatchUp(first, faster, seconds, steps)


@dataclass(frozen=True)
class CatchUpInterval:
    seconds: float | None  # geometric mean over the repeats that caught up
    low: float | None
    high: float | None  # inf: some repeat never caught up (the interval is open above)
    n: int  # repeats
    never: int  # repeats that did not catch up


def catch_up_interval(points: list[CatchUp], confidence: float = 0.95) -> CatchUpInterval:
    """The catch-up time over independent repeats (one ``CatchUp`` per fresh-process
    pair): a t-interval on log seconds over those that caught up; open above (inf) when
    any did not; None when none did."""
    import numpy as np

    from suite.core.stats import t_interval

    times = [p.seconds for p in points if p.seconds is not None]
    never = len(points) - len(times)
    if not times:
        return CatchUpInterval(None, None, None, len(points), never)
    q = t_interval(np.log(np.asarray(times, float)), confidence, "t over repeats")
    high = math.inf if never else q.high
    return CatchUpInterval(q.ratio, q.low, high, len(points), never)


def _rows(blob: dict, what: str) -> list[dict]:
    return [r for r in blob["rows"] if r.get("what", "train") == what]


def startup_table(blob: dict, what: str = "train") -> list[dict]:
    """Per model and backend (in the result's order): medians over the repeats of the
    cold and warm time to the end of the first step (``what``: the first train step or
    the first predict() call), the cold attempt's parts (import, build, first step) and
    the steady step."""
    rows = []
    for m in blob["models"]:
        for b in blob["backends"]:
            mine = [r for r in _rows(blob, what) if r["model"] == m and r["backend"] == b]
            cold = [r for r in mine if r["cache"] == "cold"]
            warm = [r for r in mine if r["cache"] == "warm"]
            if not cold:
                continue
            rows.append(
                {
                    "model": m,
                    "backend": b,
                    "cold_s": median(r["total_s"] for r in cold),
                    "warm_s": median(r["total_s"] for r in warm) if warm else None,
                    "import_s": median(r["import_s"] for r in cold),
                    "build_s": median(r["build_s"] for r in cold),
                    "first_step_s": median(r["first_step_s"] for r in cold),
                    "step_ms": median(r["step_s"] for r in mine) * 1e3,
                    "repeats": len(cold),
                }
            )
    return rows


def startup_words(blob: dict, model: str, what: str = "train") -> str:
    """The start-up verdict of one workload: who finishes its first step first, by how
    much against the runner-up, cold and warm (medians over the repeats), and when the
    backend with the shortest step has caught up (paired by repeat, cold), with its
    interval, or why never (within one epoch of the recipe)."""
    table = [r for r in startup_table(blob, what) if r["model"] == model]
    if len(table) < 2:
        return "one backend: nothing to compare" if table else "not measured"
    by_cold = sorted(table, key=lambda r: r["cold_s"])
    first, runner = by_cold[0], by_cold[1]
    words = f"{first['backend']} first by {runner['cold_s'] - first['cold_s']:.2g} s cold"
    warm = sorted((r for r in table if r["warm_s"] is not None), key=lambda r: r["warm_s"])
    if len(warm) >= 2:
        gap = f"{warm[1]['warm_s'] - warm[0]['warm_s']:.2g} s"
        same = warm[0]["backend"] == first["backend"]
        words += f" ({gap} warm)" if same else f" (warm: {warm[0]['backend']} first by {gap})"
    faster = min(table, key=lambda r: r["step_ms"])
    if faster["backend"] == first["backend"]:
        return f"{words}; its steps are the shortest too"
    catch = _catch_up_words(blob, model, faster["backend"], first["backend"], what)
    return f"{words}; {catch}"


def _catch_up_words(blob: dict, model: str, faster: str, first: str, what: str) -> str:
    cold = [r for r in _rows(blob, what) if r["model"] == model and r["cache"] == "cold"]
    by = {(r["backend"], r["repeat"]): r for r in cold}
    horizon = next((r.get("steps_per_epoch") for r in cold if r.get("steps_per_epoch")), None)
    points = [
        catch_up(faster, a["total_s"], a["step_s"], first, b["total_s"], b["step_s"], horizon)
        for (who, rep), a in by.items()
        if who == faster and (b := by.get((first, rep))) is not None
    ]
    q = catch_up_interval(points)
    if q.seconds is None:
        return points[0].never if points else "catch-up not measured"
    if q.low is None:
        rest = f"; not in the other {q.never}" if q.never else ""
        return f"{faster} catches up after {q.seconds:.3g} s (one repeat{rest})"
    high = "never" if q.high == math.inf else f"{q.high:.3g}"
    return f"{faster} catches up after {q.seconds:.3g} s [{q.low:.3g}, {high}]"
