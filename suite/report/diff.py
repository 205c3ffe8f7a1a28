"""``diff``: what changed between two result sets, in the manner of ``asv compare``."""

from __future__ import annotations

import numpy as np

from suite.core.schemas import NA
from suite.core.stats import unpaired_ratio
from suite.report.groups import geomean, variant

STEP_CHANGE = 0.10  # diff flags throughput changes larger than this, CI excluding 1 ...

UNPAIRED_DRIFT = 0.30  # ... or, with one run a side (no CI), larger than the VM drift seen

ACC_FLOOR = 0.003  # with fewer than 2 seeds, accuracy changes beyond 0.3 points are flagged

# the other metrics a result records, each a quantity where larger is worse (a time or a
# size): name -> how to read it from a run (None: the run has none)
OTHER_METRICS = {
    "predict time": lambda r: 1 / r.predict_examples_per_s if r.predict_examples_per_s else None,
    "single-example latency": lambda r: r.single_median_ms,
    "first step": lambda r: r.first_step_ms,
    "peak memory": lambda r: r.peak_rss_bytes,
}


def change_flag(q) -> str:
    """The ``diff`` rule for a ratio new ÷ old of a time or a size: "slower" (larger) or
    "faster" (smaller) beyond ``STEP_CHANGE`` with a 95% interval over runs excluding 1,
    or, with one run a side (no interval), beyond ``UNPAIRED_DRIFT``; else ""."""
    if q.low is not None:
        changed = (q.low > 1 or q.high < 1) and abs(q.ratio - 1) > STEP_CHANGE
    else:
        changed = abs(q.ratio - 1) > UNPAIRED_DRIFT
    return ("slower" if q.ratio > 1 else "faster") if changed else ""


def other_changes(a: list, b: list) -> list[dict]:
    """Every other metric both sides recorded: its ratio new ÷ old (Welch over runs) and
    whether it changed (``change_flag``)."""
    out = []
    for metric, read in OTHER_METRICS.items():
        old = [v for r in a if (v := read(r))]
        new = [v for r in b if (v := read(r))]
        if old and new:
            q = unpaired_ratio(new, old)
            out.append({"metric": metric, "ratio": q, "flag": change_flag(q)})
    return out


def diff_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Cells present in both sets (same backend, device kind, model, impl and settings), in
    the manner of ``asv compare``: the time ratio new/old of training throughput with a
    Welch interval over runs (seeds) -- the two sets did not train side by side, so no
    pairing -- and the accuracy change against seed noise."""

    def index(runs):
        out: dict[tuple, list[dict]] = {}
        for r in runs:
            if r.status == "ok" and r.throughput_examples_per_s:
                c = r.config
                key = (c["backend"], c["device"], c["model"], c.get("impl", "keras"), variant(c))
                out.setdefault(key, []).append(r)
        return out

    a, b = index(old), index(new)
    rows = []
    for key in sorted(set(a) & set(b)):
        ta = [r.throughput_examples_per_s for r in a[key]]
        tb = [r.throughput_examples_per_s for r in b[key]]
        q = unpaired_ratio(ta, tb)  # old/new throughput = new/old time
        acc_a = [r.final_test_accuracy for r in a[key]]
        acc_b = [r.final_test_accuracy for r in b[key]]
        delta = float(np.mean(acc_b) - np.mean(acc_a))
        noise = max([np.std(x, ddof=1) for x in (acc_a, acc_b) if len(x) > 1] or [0.0])
        acc_flag = abs(delta) > (2 * noise if noise > 0 else ACC_FLOOR)
        rows.append(
            {
                "backend": key[0],
                "device": key[1],
                "model": key[2],
                "impl": key[3],
                "old_examples_per_s": geomean(ta),
                "new_examples_per_s": geomean(tb),
                "time_ratio": q,
                "step_flag": change_flag(q),
                "old_acc": float(np.mean(acc_a)),
                "new_acc": float(np.mean(acc_b)),
                "acc_delta": delta,
                "acc_flag": acc_flag,
                "others": other_changes(a[key], b[key]),
            }
        )
    return rows


def verdict_changes(old: dict, new: dict) -> list[str]:
    """Every verdict that differs between two built reports (``build_report``), one line
    each: a workload's backend to use (per device group in both), a gradient
    comparison's pass, a transfer's portability verdict."""
    out = []
    new_devices = {d["key"]: d for d in new["devices"]}
    for d in old["devices"]:
        if d["key"] not in new_devices:
            continue
        after = {v.workload: v.use for v in new_devices[d["key"]]["workloads"]}
        for v in d["workloads"]:
            if v.workload in after and after[v.workload] != v.use:
                out.append(f"use for {v.workload}: {v.use} -> {after[v.workload]}")
    out += _changed("gradients", _grads(old.get("grads")), _grads(new.get("grads")))
    out += _changed(
        "portability", _transfers(old.get("portability")), _transfers(new.get("portability"))
    )
    return out


def _grads(g: dict | None) -> dict[str, str]:
    if not g:
        return {}
    out = {}
    for r in g.get("pairs", []) + g.get("reference", []):
        if r.get("status") == NA:
            continue
        sides = f"{r['a']} vs {r['b']}" if "a" in r else f"{r.get('backend')} vs float64"
        out[f"{r.get('model')} {r.get('dtype')} {sides}"] = "pass" if r.get("pass") else "FAIL"
    return out


def _transfers(p: dict | None) -> dict[str, str]:
    if not p:
        return {}
    return {f"{t.model} {t.source} -> {t.target}": t.verdict for t in p["transfers"]}


def _changed(what: str, old: dict, new: dict) -> list[str]:
    return [f"{what}, {k}: {old[k]} -> {new[k]}" for k in sorted(set(old) & set(new))
            if old[k] != new[k]]  # fmt: skip


def startup_changes(old: dict | None, new: dict | None) -> list[dict]:
    """Start-up (``startup``) in both sets: per backend, workload, call and cache, the
    time from a fresh process to the end of the first call, new ÷ old, Welch over
    repeats, flagged by ``change_flag``."""
    if not old or not new:
        return []

    def totals(blob) -> dict[tuple, list[float]]:
        out: dict[tuple, list[float]] = {}
        for r in blob["rows"]:
            key = (r["backend"], r["model"], r.get("what", "train"), r["cache"])
            out.setdefault(key, []).append(r["total_s"])
        return out

    a, b = totals(old), totals(new)
    rows = []
    for key in sorted(set(a) & set(b)):
        q = unpaired_ratio(b[key], a[key])
        rows.append({"backend": key[0], "model": key[1], "what": key[2], "cache": key[3],
                     "ratio": q, "flag": change_flag(q)})  # fmt: skip
    return rows
