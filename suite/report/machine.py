"""The report's Machine noise section: what the machine did while the chunks were timed
(``suite.report.noise`` computes it), laid out as a collapsed detail section."""

from __future__ import annotations

from suite.report.aa import AA_LIMIT
from suite.report.layout import Section, Table, label, num, ratio_text
from suite.report.noise import FLAG_NOTE

NOISE_NOTE = (
    "Read beside every chunk, outside its clock: the host's *steal* (CPU time the "
    "hypervisor gave to other guests, all CPUs, from /proc/stat), *others' CPU* (every "
    "other process on this machine, in cores: the waiting workers, the coordinator, "
    "anything else), the worker's *run-queue wait* (its threads' time runnable but not "
    "running, summed over threads, so it also counts its own threads queueing for the "
    "cores), involuntary context switches, the CPU clock the kernel reports (on many VMs a "
    "fixed nominal figure), and two *probes* of the vCPU's speed run just before the "
    "clock started: a fixed pure-Python loop and a fixed 16 MiB memory copy. "
    + FLAG_NOTE
    + " The ratios in flagged and unflagged rounds describe this run (rounds of one run "
    "are not independent): they say whether a ratio moved with the noise, not what a "
    "rerun would give."
)

RUN_HEADERS = [
    "run",
    "chunks",
    "steal, % (worst chunk)",
    "others' CPU, cores (worst)",
    "run-queue wait, %",
    "switches/s",
    "loop probe, ms (worst ÷ median)",
    "copy probe, ms (worst ÷ median)",
    "clock, MHz",
    "flagged rounds",
]
FLAG_HEADERS = [
    "model",
    "time ratio",
    "in flagged rounds",
    "in the others",
    "moved with the noise?",
]
PHASE_HEADERS = [
    "backend",
    "run",
    "chunks",
    "slowest ÷ fastest chunk",
    "ρ steal",
    "ρ others' CPU",
    "ρ run-queue wait",
    "ρ loop probe",
    "ρ copy probe",
]
STRONG = 0.5  # a rank correlation this strong with p < 0.01 counts as "moved with it"


def _pair(a, b, digits=3) -> str:
    return f"{num(a, digits)} ({num(b, digits)})" if a is not None else "-"


def _rho(value) -> str:
    if value is None:
        return "-"
    rho, p = value
    mark = " (clear)" if abs(rho) >= STRONG and p < 0.01 else ""
    return f"{rho:+.2f}".replace("-", "\u2212") + mark


def _moved(f, u) -> str:
    if f is None or u is None or f.low is None or u.low is None:
        return "too few rounds to tell"
    if f.low > u.high or f.high < u.low:
        return "yes: the intervals do not overlap"
    return "no clear difference"


def noise_summary(rows: list[dict]) -> str:
    steal = max(r["steal_pct"] for r in rows)
    worst = max(r["steal_worst_pct"] for r in rows)
    others = [r["others_worst_cores"] for r in rows if r["others_worst_cores"] is not None]
    n, total = sum(r["flagged"] for r in rows), sum(r["rounds"] for r in rows)
    return (
        f"Host steal averaged at most {steal:.1f}% of the CPU time per run (worst chunk "
        f"{worst:.1f}%)"
        + (f"; other processes used up to {max(others):.2f} of a core" if others else "")
        + f"; {n} of {total} rounds flagged."
    )


def noise_section(d: dict) -> Section:
    runs = [
        [
            r["run"],
            str(r["chunks"]),
            _pair(r["steal_pct"], r["steal_worst_pct"], 2),
            _pair(r["others_cores"], r["others_worst_cores"], 2),
            num(r["runq_pct"], 2),
            num(r["switches_per_s"], 2),
            _pair(r["probe_ms"], r["probe_worst"]),
            _pair(r["copy_ms"], r["copy_worst"]),
            num(r["mhz"], 4),
            f"{r['flagged']} of {r['rounds']}",
        ]
        for r in d["noise"]
    ]
    flags = [
        [
            label(d, f["model"], f["variant"]),
            f"{f['backend']} ÷ {f['fastest']}",
            f"{ratio_text(f['flagged'])} ({f['n_flagged']} rounds)",
            f"{ratio_text(f['unflagged'])} ({f['n_unflagged']} rounds)",
            _moved(f["flagged"], f["unflagged"]),
        ]
        for f in d["noise_flags"]
    ]
    phases = [
        [p["backend"], p["run"], str(p["chunks"]), f"{p['slowest']:.2f}×"]
        + [_rho(p[k]) for k in ("steal", "others", "runq", "probe", "copy")]
        for p in d["phases"]
    ]
    tables = [Table(RUN_HEADERS, runs, "What the machine did during each run's chunks")]
    if flags:
        tables.append(Table(FLAG_HEADERS, flags, "Time ratios in flagged and unflagged rounds"))
    tables.append(
        Table(
            PHASE_HEADERS,
            phases,
            "What each backend's chunk times moved with: Spearman's ρ between a chunk's "
            "time per step (÷ its schedule's median) and each measure, over a run's chunks; "
            f"clear: |ρ| ≥ {STRONG} and p < 0.01",
        )
    )
    return Section(
        "Machine noise during the runs",
        3,
        [NOISE_NOTE],
        tables=tables,
        summary=noise_summary(d["noise"]),
    )


RERUN_NOTE = (
    "How far a rerun on this machine could move each ratio. This VM's speed drifts in "
    "phases lasting minutes that slow the backends unequally, so the rounds of one run "
    "are not independent of it: an interval from rounds alone says how precisely this "
    "run measured itself, not what another run would measure. With 3 or more runs "
    "(seeds, or `compare --repeat N`) each run's mean log ratio is one unit: the "
    "interval is a Student-t interval over them (or the rounds' interval where that is "
    "wider), and *the next run would land in* is the 95% prediction interval for one "
    "more independent run, exp(mean ± t·s·√(1 + 1/k)) over k runs. The half-width is "
    "the interval's factor either way of the ratio, minus 1. docs/methodology.md gives "
    "the simulated coverage of each interval."
)
RERUN_HEADERS = [
    "model",
    "time ratio",
    "ratio [95% CI]",
    "CI units",
    "half-width",
    "the next run would land in",
]


def _precision_text(p: dict) -> str:
    minutes = p["max_time_s"] / 60
    return (
        f"`compare --precision {p['target']:g} --max-time {minutes:g}m`: {p['runs']} runs in "
        f"{p['wall_s'] / 60:.1f} min; stopped: {p['stopped']}. A ratio reaches the target "
        f"when its interval, with runs as units, is within ±{p['target']:.0%}."
    )


def rerun_section(d: dict, precision: dict | None) -> Section:
    target = precision is not None
    rows = []
    for r in d["reruns"]:
        pi = r["rerun"]
        row = [
            label(d, r["model"], r["variant"]),
            f"{r['backend']} ÷ {r['fastest']}",
            ratio_text(r["ratio"]),
            f"{r['n']} {r['units']}",
            "-" if r["half_width"] is None else f"±{r['half_width']:.1%}",
            "-" if pi is None else f"[{pi[0]:.2f}, {pi[1]:.2f}]",
        ]
        if target:
            row.append("yes" if r["reached"] else "no")
        rows.append(row)
    headers = RERUN_HEADERS + ([f"within ±{precision['target']:.0%}?"] if target else [])
    with_pi = sum(r["rerun"] is not None for r in d["reruns"])
    summary = (
        f"{with_pi} of {len(d['reruns'])} ratios have runs as units and a rerun interval"
        + (
            f"; {sum(bool(r['reached']) for r in d['reruns'])} reached ±{precision['target']:.0%}"
            if target
            else ""
        )
        + "."
    )
    paragraphs = [RERUN_NOTE] + ([_precision_text(precision)] if target else [])
    return Section(
        "Reruns: runs as units and where the next run would land",
        3,
        paragraphs,
        tables=[Table(headers, rows, "Each ranked time ratio, its interval and a rerun's")],
        summary=summary,
    )


AA_NOTE = (
    "Every participant trains each cell twice, in two fresh worker processes taking turns "
    "in the same rounds (`compare --processes`, default 2): the same program, so their "
    "throughput ratio should be 1. How far it is not is the worker process's own effect "
    "(memory layout, thread placement, environment), which rounds inside one process "
    "cannot see. Each row: the first process ÷ the second, paired by round, with a 95% "
    f"t-interval over rounds. A workload where any participant's A/A is off by more than "
    f"{AA_LIMIT:.0%}, or whose interval excludes 1, is not ranked. From all the A/A "
    "contrasts the process variance σ_p² is estimated (method of moments: the mean of d² − "
    "s²/n over contrasts, halved) and every time ratio's interval carries it: s²/n + 2σ_p², "
    "Welch–Satterthwaite degrees of freedom."
)


def aa_section(d: dict) -> Section:
    """The A/A control: each participant's first process ÷ its twin, per workload."""
    rows = [
        [label(d, r["model"], r["variant"]), r["backend"] + ("" if r["impl"] == "keras"
         else f" ({r['impl']})"), ratio_text(r["ratio"]), str(r["ratio"].n),
         "fails: not rankable" if r["fails"] else "passes"]
        for r in d["aa"]
    ]  # fmt: skip
    p = d.get("process")
    spread = (
        "no A/A contrast of two rounds or more"
        if p is None
        else f"σ_p = {p.var**0.5:.1%} of throughput, from {p.contrasts} contrasts"
    )
    bad = sum(r["fails"] for r in d["aa"])
    return Section(
        "A/A control: the same program in two processes",
        3,
        [AA_NOTE],
        tables=[Table(AA_HEADERS, rows, "Each participant's first process ÷ its second")],
        summary=f"{len(rows) - bad} of {len(rows)} A/A ratios pass; {spread}",
    )


AA_HEADERS = ["model", "participant", "process 1 ÷ process 2 [95% CI]", "rounds", "A/A"]
