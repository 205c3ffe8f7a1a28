"""What the machine did while the chunks were timed, as plain data: per run the host's
steal, other processes' CPU, the workers' run-queue wait and the two speed probes
(``suite.core.noise``), the rounds where one of them crossed a stated threshold, each
time ratio in those rounds beside the others, and how each backend's chunk times moved
with each measure. Pure functions over results."""

from __future__ import annotations

import numpy as np

from suite.core.config import participant_name
from suite.core.stats import paired_rates
from suite.report.groups import cells_for, round_throughputs

STEAL_FLAG = 0.05  # the host took >= 5% of the machine's CPU time during a chunk
OTHERS_FLAG = 0.10  # other processes used >= a tenth of a core during a chunk
PROBE_FLAG = 1.25  # a speed probe >= 1.25x its run's median: the vCPU itself was slow
MEASURES = ("steal", "others", "runq", "probe", "copy")
FLAG_NOTE = (
    f"A round is flagged when, during any backend's chunk in it, the host stole at least "
    f"{STEAL_FLAG:.0%} of the machine's CPU time, other processes used at least "
    f"{OTHERS_FLAG:.2f} of a core, or a speed probe (a fixed pure-Python loop, a fixed "
    f"16 MiB copy, run just before the chunk's clock) took at least {PROBE_FLAG:.2f}× its "
    "run's median."
)


def run_of(result) -> str:
    """The run a result's chunks belong to: compare's run folder (the schedule's first
    part), else the result's own run id."""
    return result.schedule.split("/")[0] if result.schedule else result.run_id


def chunk_rows(result) -> list[dict]:
    """One row per chunk that carries the machine's counters: shares of the chunk's wall
    time (steal over all CPUs, others' CPU in cores, the worker's run-queue wait summed
    over its threads), switches per second, the probes, and seconds per step."""
    cpus = result.environment.get("cpu_cores_logical") or 1
    rows = []
    for c in result.chunks:
        if c.steal_s is None or c.seconds <= 0:
            continue
        rows.append(
            {
                "run": run_of(result),
                "schedule": result.schedule,
                "round": c.round,
                "steal": c.steal_s / (c.seconds * cpus),
                "others": None if c.others_cpu_s is None else c.others_cpu_s / c.seconds,
                "runq": None if c.runq_wait_s is None else c.runq_wait_s / c.seconds,
                "switches": (c.invol_switches or 0) / c.seconds,
                "probe": c.probe_ms,
                "copy": c.copy_ms,
                "mhz": c.cpu_mhz,
                "step_s": c.seconds / c.steps,
            }
        )
    return rows


def _median(values) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.median(v)) if v else None


def flagged(rows: list[dict]) -> set[tuple]:
    """(schedule, round) of every round with a chunk over a threshold; the probes are
    judged against their own run's median."""
    medians = {
        (run, k): _median(r[k] for r in rows if r["run"] == run)
        for run in {r["run"] for r in rows}
        for k in ("probe", "copy")
    }
    out = set()
    for r in rows:
        slow = any(
            r[k] is not None
            and medians[(r["run"], k)]
            and r[k] >= PROBE_FLAG * medians[(r["run"], k)]
            for k in ("probe", "copy")
        )
        if r["steal"] >= STEAL_FLAG or (r["others"] or 0) >= OTHERS_FLAG or slow:
            out.add((r["schedule"], r["round"]))
    return out


def noise_rows(runs: list) -> list[dict]:
    """Per run: its chunks' steal (% of the machine's CPU time, overall and the worst
    chunk), others' CPU (mean and worst, cores), run-queue wait (% of wall time, summed
    over threads), involuntary switches per second, the probes' medians and worst ÷
    median, the clock, and how many of its rounds were flagged."""
    rows = [row for r in runs for row in chunk_rows(r)]
    marked = flagged(rows)
    out = []
    for run in sorted({r["run"] for r in rows}):
        mine = [r for r in rows if r["run"] == run]
        rounds = {(r["schedule"], r["round"]) for r in mine if r["round"] is not None}
        others = [r["others"] for r in mine if r["others"] is not None]
        probe, copy = _median(r["probe"] for r in mine), _median(r["copy"] for r in mine)
        out.append(
            {
                "run": run,
                "chunks": len(mine),
                "steal_pct": 100 * float(np.mean([r["steal"] for r in mine])),
                "steal_worst_pct": 100 * max(r["steal"] for r in mine),
                "others_cores": float(np.mean(others)) if others else None,
                "others_worst_cores": max(others) if others else None,
                "runq_pct": _pct(_median(r["runq"] for r in mine)),
                "switches_per_s": _median(r["switches"] for r in mine),
                "probe_ms": probe,
                "probe_worst": _worst(mine, "probe", probe),
                "copy_ms": copy,
                "copy_worst": _worst(mine, "copy", copy),
                "mhz": _median(r["mhz"] for r in mine),
                "rounds": len(rounds),
                "flagged": len(rounds & marked),
            }
        )
    return out


def _pct(x):
    return None if x is None else 100 * x


def _worst(rows, key, median):
    v = [r[key] for r in rows if r[key] is not None]
    return max(v) / median if v and median else None


def flag_rows(cells: dict, speed: dict) -> list[dict]:
    """Per ranked time ratio (a backend ÷ its group's fastest) whose rounds include both
    flagged and unflagged ones: the ratio over each kind, paired by round (one run's
    rounds: a description of this run, not an interval for a rerun)."""
    rows_all = [row for runs in cells.values() for r in runs for row in chunk_rows(r)]
    marked = flagged(rows_all)
    out = []
    for (model, var), rows in speed.items():
        fastest = next((r["backend"] for r in rows if r["ratio"] is None), None)
        per = cells_for(cells, model, var)
        if fastest is None or fastest not in per:
            continue
        fast = {k: v for r in per[fastest] for k, v in round_throughputs(r).items()}
        for row in rows:
            b = row["backend"]
            if b == fastest:
                continue
            slow = {k: v for r in per[b] for k, v in round_throughputs(r).items()}
            both = set(fast) & set(slow)
            bad = {k for k in both if k in marked}
            if not bad or bad == both:
                continue
            out.append(
                {
                    "model": model,
                    "variant": var,
                    "backend": b,
                    "fastest": fastest,
                    "flagged": _restricted(fast, slow, bad),
                    "unflagged": _restricted(fast, slow, both - bad),
                    "n_flagged": len(bad),
                    "n_unflagged": len(both - bad),
                }
            )
    return out


DISTURBED_SHARE = 0.5  # more than half of a workload's rounds disturbed: not ranked
# a chunk is disturbed when other processes took at least half a core meanwhile, or the
# host stole the flag's share: a competitor for the cores that slows the backends
# unequally (torch's OpenMP threads collapse when another process takes a core). Not
# the speed probes alone: one short probe before each chunk is ≥ 1.25× its median in
# about one chunk in ten on a quiet VM, so with six workers half the rounds would count.
DISTURBED_OTHERS = 0.5


def disturbed(cells: dict, speed: dict) -> dict[tuple, str]:
    """(model, variant) -> why its ranking is withheld, for every workload whose rounds
    were mostly disturbed (a chunk in the round with others' CPU ≥ ``DISTURBED_OTHERS``
    cores or steal ≥ ``STEAL_FLAG``): a time ratio over a busy machine says what the
    competitor did to each backend, not what the backends cost."""
    out = {}
    for model, var in speed:
        mine = [
            row
            for runs in cells_for(cells, model, var).values()
            for r in runs
            for row in chunk_rows(r)
            if row["round"] is not None
        ]
        rounds = {(row["schedule"], row["round"]) for row in mine}
        bad = [
            row
            for row in mine
            if (row["others"] or 0) >= DISTURBED_OTHERS or row["steal"] >= STEAL_FLAG
        ]
        hit = {(row["schedule"], row["round"]) for row in bad}
        if rounds and len(hit) > DISTURBED_SHARE * len(rounds):
            others = max((row["others"] or 0) for row in bad)
            steal = max(row["steal"] for row in bad)
            out[(model, var)] = (
                f"not ranked: the machine was busy during {len(hit)} of {len(rounds)} "
                f"rounds (other processes used up to {others:.2f} of a core, the host "
                f"stole up to {steal:.0%}); rerun on a quiet machine"
            )
    return out


def _restricted(fast: dict, slow: dict, keys: set):
    return paired_rates({k: fast[k] for k in keys}, {k: slow[k] for k in keys})


def phase_rows(runs: list) -> list[dict]:
    """Per backend and run: Spearman's rank correlation between a chunk's time per step
    (÷ its schedule's median, so models pool) and each measure over that run's chunks,
    with its p-value. A measure that explains the phases correlates positively and
    clearly; none doing so is an answer too."""
    groups: dict[tuple, list] = {}
    for r in runs:
        rows = chunk_rows(r)
        if len(rows) < 4:
            continue
        median = float(np.median([x["step_s"] for x in rows]))
        key = (participant_name(r.config), run_of(r))
        groups.setdefault(key, []).extend({**x, "rel": x["step_s"] / median} for x in rows)
    out = []
    for (name, run), rows in sorted(groups.items()):
        entry = {"backend": name, "run": run, "chunks": len(rows)}
        for k in MEASURES:
            pairs = [(x["rel"], x[k]) for x in rows if x[k] is not None]
            entry[k] = _spearman(pairs)
        entry["slowest"] = max(x["rel"] for x in rows) / min(x["rel"] for x in rows)
        out.append(entry)
    return out


def _spearman(pairs: list[tuple]) -> tuple[float, float] | None:
    """(rho, p) or None when either side does not vary or there are too few pairs."""
    if len(pairs) < 4:
        return None
    a, b = np.array(pairs, np.float64).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    from scipy import stats as sps  # on first use, as in suite.core.stats

    res = sps.spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)
