"""Across releases (``versions``): per backend, workload and pinned distribution, the
version sets in release order, and each step between neighbours, on every metric the
suite records, flagged only where the data say so. Pure functions of a device group's
cells.

The rule (``step_flag``): a time ratio is flagged when its 95% interval lies wholly
beyond the factor by which the same program differed between its two worker processes
(the A/A control's interval, of either version's participant), and never within
``SPEED_THRESHOLD``. Training throughput is paired by round with the worker process
inside its interval; predict() by inference turn (the A/A twin times none, so its bound
is the threshold); the first step and peak memory are per process (two processes a
side, Welch), their bound ``FLAT_CHANGE``; test accuracy is paired by seed, flagged when
its interval lies beyond ``ACCURACY_MARGIN`` (one seed cannot tell).
"""

from __future__ import annotations

from itertools import pairwise

from suite.core.environments import parse_label, version_key
from suite.core.stats import SPEED_THRESHOLD, paired_difference, unpaired_ratio
from suite.report.groups import accuracy_by_seed, geomean, model_order, ok_runs, process_of
from suite.report.inference import predict_rates
from suite.report.tables import ACCURACY_MARGIN, speed_ratio

# first step and peak memory: one value per process, no pairing by round: a change
# beyond this (the asv-style bound ``diff`` uses) with an interval excluding 1
FLAT_CHANGE = 0.10


def chains(cells: dict) -> dict[tuple, list[tuple[str, list, tuple]]]:
    """(backend, model, distribution) -> [(label, ok runs, cell key)], in release order
    (a repeated release after its first): every Keras cell trained in a version set."""
    out: dict[tuple, list] = {}
    for key, runs in cells.items():
        b, m, impl, _ = key
        ok = ok_runs(runs)
        label = ok[0].config.get("versions") if ok else None
        if impl != "keras" or not label:
            continue
        out.setdefault((b, m, parse_label(label)[0]), []).append((label, ok, key))
    for chain in out.values():
        chain.sort(key=lambda c: version_key(c[0]))
    return dict(sorted(out.items(), key=lambda kv: (model_order(kv[0][1]), kv[0])))


def aa_factor(q) -> float:
    """How far apart the same program's two processes may lie, as a factor ≥ 1: the far
    end of the A/A interval (its point without one); at least the speed threshold."""
    if q is None:
        return 1 + SPEED_THRESHOLD
    far = max(q.ratio, 1 / q.ratio) if q.low is None else max(q.high, 1 / q.low)
    return max(far, 1 + SPEED_THRESHOLD)


def step_flag(q, factor: float) -> str:
    """ "slower" or "faster" for a time ratio new ÷ old whose interval lies wholly beyond
    ``factor`` (≥ 1); "" otherwise, also without an interval."""
    if q is None or q.low is None:
        return ""
    if q.low > factor:
        return "slower"
    if q.high < 1 / factor:
        return "faster"
    return ""


def _first_steps(runs) -> list[float]:
    return [r.first_step_ms for r in runs if r.first_step_ms]


def _peaks(runs) -> list[float]:
    return [r.peak_rss_bytes for r in runs if r.peak_rss_bytes]


def _metrics(old: list, new: list, factor: float, process) -> list[tuple]:
    """(metric, value, flag, bound) of one step: time ratios new ÷ old, accuracy new − old."""
    out = []
    q = speed_ratio(new, old, process=process)
    out.append(("training time", q, step_flag(q, factor), factor))
    inf_old, inf_new = [r for r in old if r.inference], [r for r in new if r.inference]
    if inf_old and inf_new:
        p = speed_ratio(inf_new, inf_old, predict_rates, "predict_examples_per_s")
        bound = 1 + SPEED_THRESHOLD
        out.append(("predict time", p, step_flag(p, bound), bound))
    for metric, values in (("first step", _first_steps), ("peak memory", _peaks)):
        a, b = values(old), values(new)
        if a and b:
            r = unpaired_ratio(b, a)  # new ÷ old
            out.append((metric, r, step_flag(r, 1 + FLAT_CHANGE), 1 + FLAT_CHANGE))
    mine = accuracy_by_seed([r for r in new if not process_of(r)])
    theirs = accuracy_by_seed([r for r in old if not process_of(r)])
    seeds = sorted(set(mine) & set(theirs))
    if seeds:
        d = paired_difference([mine[s] for s in seeds], [theirs[s] for s in seeds],
                              ACCURACY_MARGIN)  # fmt: skip
        beyond = d.low is not None and (d.low > ACCURACY_MARGIN or d.high < -ACCURACY_MARGIN)
        flag = ("higher" if d.mean > 0 else "lower") if beyond else ""
        out.append(("test accuracy", d, flag, ACCURACY_MARGIN))
    return out


def step_rows(found: dict, aa: list[dict], process=None) -> list[dict]:
    """Every step between neighbouring version sets of ``found`` (``chains``), per
    backend, workload and metric; the flagged ones first."""
    aa_by = {(r["backend"], r["model"], r["impl"], r["variant"]): r["ratio"] for r in aa}
    rows = []
    for (b, m, dist), chain in found.items():
        for (la, ra, ka), (lb, rb, kb) in pairwise(chain):
            factor = max(aa_factor(aa_by.get(ka)), aa_factor(aa_by.get(kb)))
            for metric, value, flag, bound in _metrics(ra, rb, factor, process):
                rows.append({"backend": b, "model": m, "distribution": dist, "old": la,
                             "new": lb, "metric": metric, "value": value, "flag": flag,
                             "bound": bound})  # fmt: skip
    return sorted(rows, key=lambda r: not r["flag"])


def report_steps(report: dict) -> list[dict]:
    """Every step of every device group of a built report."""
    return [
        r for d in report.get("devices", []) for r in (d.get("versions") or {}).get("steps", [])
    ]


def flagged_words(steps: list[dict]) -> list[str]:
    """``step_words`` of the flagged steps."""
    return [step_words(r) for r in steps if r["flag"]]


def _release(label: str) -> str:
    _, version, copy = parse_label(label)
    return version + (f" (copy {copy})" if copy > 1 else "")


def value_text(row: dict) -> str:
    """ "1.31× slower [1.22, 1.40]", "+0.12 points [−0.05, +0.29]"."""
    v = row["value"]
    if row["metric"] == "test accuracy":
        ci = "" if v.low is None else f" [{100 * v.low:+.2f}, {100 * v.high:+.2f}]"
        return f"{100 * v.mean:+.2f} points{ci}" + ("" if v.low is not None else " (one seed)")
    word = "slower" if v.ratio >= 1 else "faster"
    if row["metric"] == "peak memory":
        word = "more" if v.ratio >= 1 else "less"
    f = v.ratio if v.ratio >= 1 else 1 / v.ratio
    ci = ""
    if v.low is not None:
        lo, hi = (v.low, v.high) if v.ratio >= 1 else (1 / v.high, 1 / v.low)
        ci = f" [{lo:.2f}, {hi:.2f}]"
    return f"{f:.2f}× {word}{ci}"


def step_words(row: dict) -> str:
    """ "keras 3.14.1 → 3.15.1: torch cnn training time 1.31× slower [1.22, 1.40]"."""
    return (
        f"{row['distribution']} {_release(row['old'])} → {_release(row['new'])}: "
        f"{row['backend']} {row['model']} {row['metric']} {value_text(row)}"
    )


STEP_HEADERS = ["backend", "workload", "step", "metric", "new against old [95% CI]",
                "bound", "flagged"]  # fmt: skip


def step_table_rows(rows: list[dict]) -> list[list[str]]:
    def bound(r) -> str:
        if r["metric"] == "test accuracy":
            return f"±{100 * r['bound']:.1f} points"
        return f"{r['bound']:.2f}×"

    return [
        [r["backend"], r["model"],
         f"{r['distribution']} {_release(r['old'])} → {_release(r['new'])}", r["metric"],
         value_text(r), bound(r), r["flag"] or "no"]
        for r in rows
    ]  # fmt: skip


def version_curves(found: dict, process=None) -> dict[tuple, list[tuple[str, float, float, float]]]:
    """The trend figure's data: per (backend, model, distribution) of ``found``
    (``chains``), (label, examples/s, low, high) in release order, the band from each
    set's time ratio to the first set's (paired by round, the process inside), around the
    first's throughput."""
    out = {}
    for key, chain in found.items():
        first = chain[0][1]
        top = geomean([r.throughput_examples_per_s for r in first])
        pts = [(chain[0][0], top, top, top)]
        for label, runs, _ in chain[1:]:
            tp = geomean([r.throughput_examples_per_s for r in runs])
            q = speed_ratio(runs, first, process=process)
            low, high = (tp, tp) if q.low is None else (top / q.high, top / q.low)
            pts.append((label, tp, low, high))
        out[key] = pts
    return out


def set_failures(records: list[dict]) -> list[str]:
    """The version sets that never trained, from the newest versions record: one line
    each with its reason."""
    newest = max(records, key=lambda r: str(r.get("created")), default=None)
    if not newest:
        return []
    return [f"{s['label']}: {s['error']}" for s in newest["sets"] if s.get("error")]
