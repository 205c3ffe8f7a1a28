"""Reading result folders and turning results into report tables: pure functions.

``collect`` reads run, grads and sweep files from one or more folders (malformed
files are named and counted, never fatal). Everything else takes the collected
results and returns rows and verdicts; no I/O, no frameworks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats as sps

from suite.errors import SuiteError
from suite.results import SCHEMA as RUN_SCHEMA
from suite.results import load_result

ALPHA = 0.05  # significance level for every test in the report
GRADS_SCHEMA = "keras-backend-suite/grads"
SWEEP_SCHEMA = "keras-backend-suite/sweep"


@dataclass
class Collected:
    runs: list[dict] = field(default_factory=list)
    grads: list[dict] = field(default_factory=list)
    sweeps: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "path: reason"


def collect(folders: list[Path]) -> Collected:
    """Every result file below the folders; SuiteError if there is nothing to report."""
    out = Collected()
    missing = [str(f) for f in folders if not Path(f).is_dir()]
    if missing:
        raise SuiteError(f"no such results folder: {', '.join(missing)}")
    for path in sorted(p for f in folders for p in Path(f).rglob("*.json")):
        if "benchmarks" in path.parts:
            continue  # pytest-benchmark's own files
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            out.skipped.append(f"{path}: not readable JSON ({type(e).__name__})")
            continue
        schema = data.get("schema") if isinstance(data, dict) else None
        try:
            if schema == RUN_SCHEMA:
                out.runs.append(load_result(path))
            elif schema in (GRADS_SCHEMA, SWEEP_SCHEMA):
                if data.get("schema_version") != 1:
                    raise SuiteError(
                        f"{path}: unknown schema version {data.get('schema_version')!r}"
                    )
                (out.grads if schema == GRADS_SCHEMA else out.sweeps).append(data)
            else:
                out.skipped.append(f"{path}: unknown schema {schema!r}")
        except SuiteError as e:
            out.skipped.append(str(e))
    if not (out.runs or out.grads or out.sweeps):
        raise SuiteError(
            f"nothing to report in {', '.join(map(str, folders))}: no result files "
            f"({len(out.skipped)} skipped); run `python -m suite compare` first"
        )
    return out


def device_key(run: dict) -> str:
    """Results are only ranked against others from the same device and machine."""
    env = run["environment"]
    dev = env.get("device", {})
    return (
        f"{dev.get('kind', '?')}: {dev.get('name', '?')} on {env.get('cpu', '?')} "
        f"({env.get('cpu_cores_logical', '?')} cores, {env.get('hostname', '?')})"
    )


def group(runs: list[dict]) -> dict[str, dict[tuple, list[dict]]]:
    """device key -> (backend, model, impl) -> runs (seeds), only finished-or-failed cells."""
    groups: dict[str, dict[tuple, list[dict]]] = {}
    for r in runs:
        c = r["config"]
        key = (c["backend"], c["model"], c.get("impl", "keras"))
        groups.setdefault(device_key(r), {}).setdefault(key, []).append(r)
    return groups


def accuracy_rows(cells: dict[tuple, list[dict]]) -> list[dict]:
    """Mean ± std of final test accuracy over seeds, against the target, per cell."""
    rows = []
    for (backend, model, impl), runs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0])):
        accs = [r["final_test_accuracy"] for r in runs if r["status"] == "ok"]
        target = runs[0]["model"].get("target_accuracy")
        rows.append(
            {
                "backend": backend,
                "model": model,
                "impl": impl,
                "n": len(accs),
                "mean": float(np.mean(accs)) if accs else None,
                "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else None,
                "target": target,
                "reached": bool(accs) and target is not None and float(np.mean(accs)) >= target,
                "failed": sum(r["status"] != "ok" for r in runs),
                "epochs": runs[0]["config"].get("epochs"),
            }
        )
    return rows


def accuracy_differs(cells: dict[tuple, list[dict]], model: str, impl: str = "keras") -> dict:
    """Do the backends' accuracies differ beyond seed noise? Kruskal-Wallis over seeds
    (needs ≥ 2 seeds per backend); otherwise says it cannot tell."""
    samples = {
        b: [r["final_test_accuracy"] for r in runs if r["status"] == "ok"]
        for (b, m, i), runs in cells.items()
        if m == model and i == impl
    }
    samples = {b: s for b, s in samples.items() if s}
    if len(samples) < 2 or min(len(s) for s in samples.values()) < 2:
        return {
            "test": "Kruskal-Wallis H",
            "p": None,
            "significant": None,
            "note": "needs at least 2 seeds per backend",
        }
    values = list(samples.values())
    if len({v for s in values for v in s}) == 1:
        return {"test": "Kruskal-Wallis H", "p": 1.0, "significant": False, "note": "all equal"}
    p = float(sps.kruskal(*values).pvalue)
    return {"test": "Kruskal-Wallis H", "p": p, "significant": p < ALPHA, "note": ""}


def pooled_steps(runs: list[dict]) -> np.ndarray:
    return np.concatenate(
        [
            np.asarray(r["step_times_ms"], float)
            for r in runs
            if r["status"] == "ok" and r["step_times_ms"]
        ]
        or [np.empty(0)]
    )


def speed_rows(cells: dict[tuple, list[dict]], model: str, impl: str = "keras") -> list[dict]:
    """Per backend: median step time (pooled over seeds) with CI, throughput, GFLOP/s,
    speed relative to the fastest, and a Mann-Whitney U test against the fastest."""
    from suite.stats import median_ci

    per = {
        b: (pooled_steps(runs), runs)
        for (b, m, i), runs in cells.items()
        if m == model and i == impl
    }
    per = {b: v for b, v in per.items() if v[0].size}
    if not per:
        return []
    fastest = min(per, key=lambda b: np.median(per[b][0]))
    rows = []
    for b, (steps, runs) in sorted(per.items(), key=lambda kv: np.median(kv[1][0])):
        med = float(np.median(steps))
        low, high = median_ci(steps)
        r0 = runs[0]
        batch = r0["config"]["batch_size"]
        flops = r0["model"]["flops_per_example"]
        if b == fastest:
            p, significant = None, None
        else:
            p = float(sps.mannwhitneyu(steps, per[fastest][0], alternative="two-sided").pvalue)
            significant = p < ALPHA
        rows.append(
            {
                "backend": b,
                "model": model,
                "impl": impl,
                "median_ms": med,
                "ci_ms": [low, high],
                "n_steps": int(steps.size),
                "examples_per_s": batch / (med / 1e3),
                "gflops_per_s": 3 * flops * batch / (med / 1e3) / 1e9,
                "peak_gflops": _median_or_none(
                    [r["environment"].get("settings", {}).get("matmul_peak_gflops") for r in runs]
                ),
                "relative": med / float(np.median(per[fastest][0])),
                "fastest": b == fastest,
                "p_vs_fastest": p,
                "significant": significant,
                "first_step_ms": float(
                    np.median(
                        [r["first_step_ms"] for r in runs if r.get("first_step_ms") is not None]
                        or [np.nan]
                    )
                ),
                "time_to_accuracy_s": _median_or_none([r.get("time_to_accuracy_s") for r in runs]),
                "peak_rss_mb": _median_or_none([r.get("peak_rss_bytes") for r in runs], 1 / 2**20),
            }
        )
    return rows


def _median_or_none(values, scale: float = 1.0):
    v = [x for x in values if x is not None]
    return float(np.median(v)) * scale if v else None


def speed_verdict(rows: list[dict]) -> str:
    """One sentence: who is fastest, and whether the data can tell."""
    if len(rows) < 2:
        return "only one backend measured"
    best, rest = rows[0], rows[1:]
    tied = [r["backend"] for r in rest if not r["significant"]]
    if tied:
        return (
            f"{best['backend']} and {', '.join(tied)} are not significantly different "
            f"(Mann-Whitney U, p ≥ {ALPHA}); no ranking between them"
        )
    second = rest[0]
    return (
        f"{best['backend']} is fastest, {second['relative']:.2f}x ahead of "
        f"{second['backend']} (Mann-Whitney U p = {second['p_vs_fastest']:.1e})"
    )


def csv_rows(runs: list[dict]) -> list[dict]:
    """One flat row per cell, for pandas."""
    rows = []
    for r in runs:
        c, t = r["config"], r.get("step_time_ms") or {}
        rows.append(
            {
                "device": device_key(r),
                "backend": c["backend"],
                "model": c["model"],
                "impl": c.get("impl", "keras"),
                "seed": c["seed"],
                "status": r["status"],
                "epochs": c["epochs"],
                "batch_size": c["batch_size"],
                "jit": c["jit"],
                "data_format": c["data_format"],
                "test_accuracy": r.get("final_test_accuracy"),
                "median_ms": t.get("median"),
                "ci_low_ms": t.get("ci_low"),
                "ci_high_ms": t.get("ci_high"),
                "iqr_ms": t.get("iqr"),
                "cv": t.get("cv"),
                "first_step_ms": r.get("first_step_ms"),
                "examples_per_s": r.get("throughput_examples_per_s"),
                "gflops_per_s": r.get("gflops_per_s"),
                "time_to_accuracy_s": r.get("time_to_accuracy_s"),
                "train_seconds": r.get("total_train_seconds"),
                "peak_rss_bytes": r.get("peak_rss_bytes"),
                "run_id": r["run_id"],
                "cell": r["cell"],
            }
        )
    return rows


def recommendation(
    speed: dict[str, list[dict]], acc: list[dict], grads_ok: bool | None
) -> list[str]:
    """Short advice per model, derived only from the numbers above it."""
    lines = []
    for model, rows in speed.items():
        if not rows:
            continue
        verdict = speed_verdict(rows)
        accs = [a for a in acc if a["model"] == model and a["mean"] is not None]
        spread = (max(a["mean"] for a in accs) - min(a["mean"] for a in accs)) if accs else None
        acc_note = (
            f"accuracy spread across backends {spread * 100:.2f} points"
            if spread is not None
            else "no accuracy data"
        )
        lines.append(f"{model}: {verdict}; {acc_note}.")
    if grads_ok is not None:
        lines.append(
            "Gradients: the backends compute equivalent losses and gradients "
            "(see the gradient table)."
            if grads_ok
            else "Gradients: at least one comparison FAILED; check the gradient table "
            "before trusting cross-backend results."
        )
    return lines


STEP_CHANGE = 0.10  # diff flags step-time changes larger than this (and significant)
ACC_FLOOR = 0.003  # with fewer than 2 seeds, accuracy changes beyond 0.3 points are flagged


def diff_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """Cells present in both sets (same backend, device kind, model, impl and settings
    key), in the manner of ``asv compare``: step time ratio with Mann-Whitney U, and
    accuracy change against seed noise."""

    def index(runs):
        out: dict[tuple, list[dict]] = {}
        for r in runs:
            if r["status"] == "ok":
                c = r["config"]
                settings = tuple(sorted((k, str(v)) for k, v in c.items() if k != "seed"))
                key = (c["backend"], c["device"], c["model"], c.get("impl", "keras"), settings)
                out.setdefault(key, []).append(r)
        return out

    a, b = index(old), index(new)
    rows = []
    for key in sorted(set(a) & set(b)):
        sa, sb = pooled_steps(a[key]), pooled_steps(b[key])
        ratio = float(np.median(sb) / np.median(sa)) if sa.size and sb.size else None
        p = (
            float(sps.mannwhitneyu(sb, sa, alternative="two-sided").pvalue)
            if sa.size and sb.size
            else None
        )
        acc_a = [r["final_test_accuracy"] for r in a[key]]
        acc_b = [r["final_test_accuracy"] for r in b[key]]
        delta = float(np.mean(acc_b) - np.mean(acc_a))
        noise = max([np.std(x, ddof=1) for x in (acc_a, acc_b) if len(x) > 1] or [0.0])
        acc_flag = abs(delta) > (2 * noise if noise > 0 else ACC_FLOOR)
        slower = ratio is not None and abs(ratio - 1) > STEP_CHANGE and p is not None and p < ALPHA
        rows.append(
            {
                "backend": key[0],
                "device": key[1],
                "model": key[2],
                "impl": key[3],
                "old_ms": float(np.median(sa)) if sa.size else None,
                "new_ms": float(np.median(sb)) if sb.size else None,
                "ratio": ratio,
                "p": p,
                "step_flag": ("slower" if ratio > 1 else "faster") if slower else "",
                "old_acc": float(np.mean(acc_a)),
                "new_acc": float(np.mean(acc_b)),
                "acc_delta": delta,
                "acc_flag": acc_flag,
            }
        )
    return rows
