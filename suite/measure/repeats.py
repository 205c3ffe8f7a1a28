"""``compare --repeat N [--gap S]`` and ``compare --precision P --max-time T``: the
matrix run again as independent runs spread over time (fresh workers each, an idle gap
between), so that every interval has runs as its units; with a precision target, runs
are added until every ranked time ratio's interval is within ±P or the time is spent.

The stopping rule: at least ``MIN_RUNS`` runs; after each, the report's ratios are
computed from everything in OUT; stop when every ranked ratio's interval (runs as units)
is within ±P, or when one more run, at the mean length of those so far plus the gap,
would end past the time limit. Stopping when the intervals first look narrow enough
costs coverage; ``suite.core.coverage`` simulates by how much (docs/methodology.md).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from suite.core.errors import SuiteError
from suite.core.files import new_json_path, utc_stamp, write_json
from suite.core.schemas import PRECISION, PRECISION_VERSION

MIN_RUNS = 3  # the fewest runs with which runs can be the units of an interval
RUN_GAP_S = 60.0  # default idle pause between repeated runs (not the rounds' TURN_GAP_S)
MAX_TIME_S = 30 * 60  # --precision's default time limit for the matrix runs
UNITS = {"s": 1, "m": 60, "h": 3600, "": 1}


@dataclass(frozen=True)
class Repeats:
    """How often the matrix runs: ``repeat`` times, or with a ``precision`` target until
    every ranked ratio is that narrow or ``max_time_s`` is spent; ``gap_s`` apart."""

    repeat: int = 1
    gap_s: float = RUN_GAP_S
    precision: float | None = None
    max_time_s: float = float(MAX_TIME_S)


def parse_duration(text: str, flag: str = "--max-time") -> float:
    """Seconds from "20m", "1.5h", "900s" or "900"; SuiteError naming the flag."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise SuiteError(f"{flag} {text!r}: give a positive time such as 20m, 1h or 900s")
    return float(m.group(1)) * UNITS[m.group(2)]


def repeats(
    repeat: int = 1, gap: float = RUN_GAP_S, precision=None, max_time: str | None = None
) -> Repeats:
    """The settings of --repeat, --gap, --precision and --max-time, each checked
    (SuiteError naming the flag) before anything starts."""
    if repeat < 1:
        raise SuiteError(f"--repeat {repeat}: give at least 1 run")
    if not gap >= 0:
        raise SuiteError(f"--gap {gap}: must be 0 or more seconds")
    if max_time is not None and precision is None:
        raise SuiteError("--max-time limits --precision's runs: give --precision P too")
    if precision is None:
        return Repeats(repeat, gap)
    if not 0 < precision < 1:
        raise SuiteError(f"--precision {precision}: a half-width such as 0.05 (±5%)")
    if repeat != 1:
        raise SuiteError(
            f"--precision with --repeat {repeat}: --precision decides the number of runs"
        )
    limit = parse_duration(max_time) if max_time else float(MAX_TIME_S)
    return Repeats(repeat, gap, precision, limit)


def repeated(cells: list, r: int) -> list:
    """The cells of run ``r``: repetition 0 is the plain matrix (an earlier compare in the
    same OUT counts as it), later ones the same settings again."""
    return cells if r == 0 else [replace(c, repeat=r) for c in cells]


def run_repeats(rep: Repeats, train, unmet, out: Path, log=print) -> list[str]:
    """Train the matrix as many times as asked. ``train(cells_of_run_r)`` trains one run
    and returns its not-ok cell names; ``unmet()`` lists the ranked ratios still wider
    than the target. Returns every not-ok cell name."""
    bad: set[str] = set()
    if rep.precision is None:
        for r in range(rep.repeat):
            if r:
                _pause(rep.gap_s, r, rep.repeat, log)
            if rep.repeat > 1:
                log(f"run {r + 1} of {rep.repeat}")
            bad |= set(train(r))
        return sorted(bad)
    started, lengths, r, stopped = time.time(), [], 0, None
    while stopped is None:
        if r:
            _pause(rep.gap_s, r, None, log)
        log(f"run {r + 1} (--precision ±{rep.precision:.0%}, {MIN_RUNS} at least)")
        begun = time.time()
        bad |= set(train(r))
        lengths.append(time.time() - begun)
        r += 1
        stopped = _stop(rep, r, unmet() if r >= MIN_RUNS else None, started, lengths, log)
    log(f"precision: {r} runs; {stopped}")
    _record(out, rep, r, time.time() - started, stopped)
    return sorted(bad)


def _stop(
    rep: Repeats, runs: int, wide: list | None, started: float, lengths: list, log
) -> str | None:
    """Why to stop after ``runs`` runs, or None to go on."""
    if wide is not None and not wide:
        return f"every ranked ratio within ±{rep.precision:.0%}"
    if wide is not None:
        names = ", ".join(f"{w['model']} {w['backend']}" for w in wide[:4])
        log(f"  {len(wide)} ratio(s) still wider than ±{rep.precision:.0%}: {names}")
    mean = sum(lengths) / len(lengths)
    if time.time() - started + rep.gap_s + mean > rep.max_time_s:
        left = f"{len(wide)} ratio(s) wider" if wide else "fewer than 3 runs"
        return f"time limit: another run would end past {rep.max_time_s / 60:g} min ({left})"
    return None


def _pause(gap: float, r: int, of: int | None, log) -> None:
    if gap > 0:
        log(f"pausing {gap:g} s before run {r + 1}" + (f" of {of}" if of else ""))
        time.sleep(gap)


def _record(out: Path, rep: Repeats, runs: int, wall: float, stopped: str) -> Path:
    """The precision target and how the runs stopped, for the report: a new file each
    time, written whole."""
    blob = {
        "schema": PRECISION,
        "schema_version": PRECISION_VERSION,
        "target": rep.precision,
        "max_time_s": rep.max_time_s,
        "gap_s": rep.gap_s,
        "runs": runs,
        "wall_s": wall,
        "stopped": stopped,
        "created": utc_stamp(),
    }
    return write_json(new_json_path(out / "precision", "precision"), blob)
