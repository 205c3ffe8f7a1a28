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
from dataclasses import replace
from pathlib import Path

from suite.commands.args import log
from suite.core.errors import SuiteError
from suite.core.files import new_json_path, utc_stamp, write_json
from suite.core.schemas import PRECISION, PRECISION_VERSION

MIN_RUNS = 3  # the fewest runs with which runs can be the units of an interval
GAP_S = 60.0  # default idle pause between repeated runs
MAX_TIME_S = 30 * 60  # --precision's default time limit for the matrix runs
UNITS = {"s": 1, "m": 60, "h": 3600, "": 1}


def add_flags(p) -> None:
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the matrix N times as independent runs (fresh workers, --gap apart), "
        "so that every interval has runs as its units and a rerun's prediction "
        "interval is shown; 3 or more for that (default: 1)",
    )
    p.add_argument(
        "--gap",
        type=float,
        default=GAP_S,
        metavar="SECONDS",
        help="idle pause between repeated runs, so they sample different phases of the "
        f"machine (default: {GAP_S:g})",
    )
    p.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help=f"add runs ({MIN_RUNS} at least) until every ranked time ratio's 95%% "
        "interval, runs as units, is within ±P (e.g. 0.05), or --max-time is spent "
        "(default: off)",
    )
    p.add_argument(
        "--max-time",
        metavar="T",
        help="with --precision: the matrix runs' time limit, e.g. 20m, 1h, 900s; no run "
        "starts that would end past it at the mean run's length "
        f"(default: {MAX_TIME_S // 60}m)",
    )


def parse_duration(text: str, flag: str = "--max-time") -> float:
    """Seconds from "20m", "1.5h", "900s" or "900"; SuiteError naming the flag."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise SuiteError(f"{flag} {text!r}: give a positive time such as 20m, 1h or 900s")
    return float(m.group(1)) * UNITS[m.group(2)]


def check_flags(args) -> None:
    """Impossible repeat and precision settings, before anything starts."""
    if args.repeat < 1:
        raise SuiteError(f"--repeat {args.repeat}: give at least 1 run")
    if not args.gap >= 0:
        raise SuiteError(f"--gap {args.gap}: must be 0 or more seconds")
    if args.max_time is not None and args.precision is None:
        raise SuiteError("--max-time limits --precision's runs: give --precision P too")
    if args.precision is None:
        return
    if not 0 < args.precision < 1:
        raise SuiteError(f"--precision {args.precision}: a half-width such as 0.05 (±5%)")
    if args.repeat != 1:
        raise SuiteError(
            f"--precision with --repeat {args.repeat}: --precision decides the number of runs"
        )
    args.max_time_s = parse_duration(args.max_time) if args.max_time else float(MAX_TIME_S)


def repeated(cells: list, r: int) -> list:
    """The cells of run ``r``: repetition 0 is the plain matrix (an earlier compare in the
    same OUT counts as it), later ones the same settings again."""
    return cells if r == 0 else [replace(c, repeat=r) for c in cells]


def run_repeats(args, train, unmet, out: Path) -> list[str]:
    """Train the matrix as many times as asked. ``train(cells_of_run_r)`` trains one run
    and returns its not-ok cell names; ``unmet()`` lists the ranked ratios still wider
    than the target. Returns every not-ok cell name."""
    bad: set[str] = set()
    if args.precision is None:
        for r in range(args.repeat):
            if r:
                _pause(args.gap, r, args.repeat)
            if args.repeat > 1:
                log(f"run {r + 1} of {args.repeat}")
            bad |= set(train(r))
        return sorted(bad)
    started, lengths, r, stopped = time.time(), [], 0, None
    while stopped is None:
        if r:
            _pause(args.gap, r, None)
        log(f"run {r + 1} (--precision ±{args.precision:.0%}, {MIN_RUNS} at least)")
        begun = time.time()
        bad |= set(train(r))
        lengths.append(time.time() - begun)
        r += 1
        stopped = _stop(args, r, unmet() if r >= MIN_RUNS else None, started, lengths)
    log(f"precision: {r} runs; {stopped}")
    _record(out, args, r, time.time() - started, stopped)
    return sorted(bad)


def _stop(args, runs: int, wide: list | None, started: float, lengths: list) -> str | None:
    """Why to stop after ``runs`` runs, or None to go on."""
    if wide is not None and not wide:
        return f"every ranked ratio within ±{args.precision:.0%}"
    if wide is not None:
        names = ", ".join(f"{w['model']} {w['backend']}" for w in wide[:4])
        log(f"  {len(wide)} ratio(s) still wider than ±{args.precision:.0%}: {names}")
    mean = sum(lengths) / len(lengths)
    if time.time() - started + args.gap + mean > args.max_time_s:
        left = f"{len(wide)} ratio(s) wider" if wide else "fewer than 3 runs"
        return f"time limit: another run would end past {args.max_time_s / 60:g} min ({left})"
    return None


def _pause(gap: float, r: int, of: int | None) -> None:
    if gap > 0:
        log(f"pausing {gap:g} s before run {r + 1}" + (f" of {of}" if of else ""))
        time.sleep(gap)


def _record(out: Path, args, runs: int, wall: float, stopped: str) -> Path:
    """The precision target and how the runs stopped, for the report: a new file each
    time, written whole."""
    blob = {
        "schema": PRECISION,
        "schema_version": PRECISION_VERSION,
        "target": args.precision,
        "max_time_s": args.max_time_s,
        "gap_s": args.gap,
        "runs": runs,
        "wall_s": wall,
        "stopped": stopped,
        "created": utc_stamp(),
    }
    return write_json(new_json_path(out / "precision", "precision"), blob)
