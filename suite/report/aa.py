"""The A/A control: each participant's first worker process against its twin, the same
program in a second fresh process in the same rounds (``compare --processes``). Their
ratio should be 1; how far it is not is the process's own effect, which no number of
rounds in one process can see. From the twins: the A/A rows (one per participant and
workload), the workloads they make not rankable, and the process variance every
interval carries (``suite.core.stats.process_variance``). Pure functions over grouped
results."""

from __future__ import annotations

import numpy as np

from suite.core.stats import (
    SPEED_THRESHOLD,
    ProcessVariance,
    log_ratios,
    paired_rates,
    process_variance,
)
from suite.report.groups import process_of, round_throughputs

AA_LIMIT = SPEED_THRESHOLD  # an A/A ratio off 1 by more than this (or CI without 1) fails


def _pairs(runs: list, rates) -> list[tuple[dict, dict]]:
    """(first process's rates, twin's rates) per schedule, for the ok runs of a group."""
    ok = [r for r in runs if r.status == "ok"]
    first = {r.schedule: rates(r) for r in ok if not process_of(r) and r.schedule}
    return [(first[r.schedule], rates(r)) for r in ok if process_of(r) and r.schedule in first]


def contrasts(cells: dict, rates=round_throughputs) -> list[np.ndarray]:
    """Every A/A contrast of a device group: per cell group and schedule, the per-round
    log ratios of the first process to its twin."""
    out = []
    for runs in cells.values():
        for a, b in _pairs(runs, rates):
            if len(logs := log_ratios(a, b)) >= 2:
                out.append(np.array(list(logs.values())))
    return out


def process_of_cells(cells: dict, rates=round_throughputs) -> ProcessVariance | None:
    """The device group's between-process variance, from all its A/A contrasts."""
    return process_variance(contrasts(cells, rates))


def aa_rows(cells: dict, rates=round_throughputs) -> list[dict]:
    """Per participant and workload with a twin: the first process's throughput ÷ its
    twin's, paired by round over every schedule (seed) they shared, with its CI, and
    whether it fails (off 1 by more than ``AA_LIMIT`` or its CI excludes 1)."""
    rows = []
    for (b, m, impl, var), runs in cells.items():
        first, twin = {}, {}
        for a, t in _pairs(runs, rates):
            first.update(a)
            twin.update(t)
        q = paired_rates(first, twin)
        if q is None:
            continue
        off = abs(q.ratio - 1)
        fails = off > AA_LIMIT or (q.low is not None and not q.low <= 1 <= q.high)
        rows.append(
            {"backend": b, "model": m, "impl": impl, "variant": var, "ratio": q, "off": off,
             "fails": fails}
        )  # fmt: skip
    return rows


def aa_reach(rows: list[dict]) -> dict[tuple, dict]:
    """(model, variant) -> what its failing A/A controls say: ``factor``, the most the
    same program differed between two processes (a ratio ≥ 1), and ``words``, naming the
    participants whose A/A failed, worst first ("the same program differed by 12%
    between processes (tensorflow; tensorflow 0.88 [0.82, 0.94])")."""
    out: dict[tuple, list] = {}
    for r in rows:
        if r["fails"] and r["impl"] == "keras":
            out.setdefault((r["model"], r["variant"]), []).append(r)
    reach = {}
    for key, bad in out.items():
        bad.sort(key=lambda r: -r["off"])
        q = bad[0]["ratio"]
        ci = "" if q.low is None else f" [{q.low:.2f}, {q.high:.2f}]"
        reach[key] = {
            "factor": max(q.ratio, 1 / q.ratio),
            "words": f"the same program differed by {bad[0]['off']:.0%} between processes "
            f"({', '.join(r['backend'] for r in bad)}; {bad[0]['backend']} {q.ratio:.2f}{ci})",
        }
    return reach


NOT_RANKABLE = "not rankable"


def withhold(speed: dict, reach: dict) -> dict:
    """The speed rows with every ranking that a failing A/A control does not clear
    marked ``NOT_RANKABLE``: a backend called slower stays so only where its time
    ratio's interval lies wholly beyond the factor by which the same program differed
    between processes; within it the order could be the processes' own."""
    out = {}
    for key, rows in speed.items():
        factor = reach.get(key, {}).get("factor")
        out[key] = [
            {**r, "verdict": NOT_RANKABLE}
            if factor and r["verdict"] == "slower" and not r["ratio"].low > factor
            else r
            for r in rows
        ]
    return out
