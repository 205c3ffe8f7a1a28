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

from suite.compare import ROUNDS_SCHEMA
from suite.errors import SuiteError
from suite.grads import SCHEMA as GRADS_SCHEMA
from suite.grads import SCHEMA_VERSION as GRADS_VERSION
from suite.portability import SCHEMA as PORTABILITY_SCHEMA
from suite.portability import transfer_from_dict
from suite.recipes import SCHEMA as RECIPE_SCHEMA
from suite.recipes import newest_recipes, recipe_result_from_dict
from suite.results import SCHEMA as RUN_SCHEMA
from suite.results import load_result
from suite.stats import (
    Ratio,
    clustered_rates,
    drift,
    paired_difference,
    speed_verdict,
    unpaired_ratio,
)
from suite.sweep import SCHEMA as SWEEP_SCHEMA
from suite.sweep import SCHEMA_VERSION as SWEEP_VERSION


@dataclass
class Collected:
    runs: list[dict] = field(default_factory=list)
    grads: list[dict] = field(default_factory=list)
    sweeps: list[dict] = field(default_factory=list)
    rounds: list[dict] = field(default_factory=list)  # compare's turn logs
    recipes: list = field(default_factory=list)  # RecipeResult, newest per key
    portability: list[dict] = field(default_factory=list)
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
            elif schema == RECIPE_SCHEMA:
                out.recipes.append(_recipe(path, data))
            elif schema == PORTABILITY_SCHEMA:
                out.portability.append(_portability(path, data))
            elif schema in (GRADS_SCHEMA, SWEEP_SCHEMA, ROUNDS_SCHEMA):
                if data.get("schema_version") != VERSIONS[schema]:
                    raise SuiteError(
                        f"{path}: unknown schema version {data.get('schema_version')!r}"
                    )
                problem = SHAPES[schema](data)
                if problem:
                    raise SuiteError(f"{path}: malformed {schema} file ({problem})")
                target = {GRADS_SCHEMA: out.grads, SWEEP_SCHEMA: out.sweeps}
                target.get(schema, out.rounds).append(data)
            else:
                out.skipped.append(f"{path}: unknown schema {schema!r}")
        except SuiteError as e:
            out.skipped.append(str(e))
    out.recipes = newest_recipes(out.recipes)
    if not (out.runs or out.grads or out.sweeps or out.recipes or out.portability):
        raise SuiteError(
            f"nothing to report in {', '.join(map(str, folders))}: no result files "
            f"({len(out.skipped)} skipped); run `python -m suite compare` first"
        )
    return out


def _recipe(path: Path, data: dict):
    try:
        return recipe_result_from_dict(data)
    except SuiteError as e:
        raise SuiteError(f"{path}: {e}") from None


def _portability(path: Path, data: dict) -> dict:
    """The file with its transfers read back as frozen ``Transfer`` rows."""
    try:
        if data.get("schema_version") != 1 or not isinstance(data.get("transfers"), list):
            raise SuiteError(f"malformed {PORTABILITY_SCHEMA} file (version or transfers)")
        return {**data, "transfers": [transfer_from_dict(t) for t in data["transfers"]]}
    except (SuiteError, AttributeError) as e:
        raise SuiteError(f"{path}: {e}") from None


def _number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and np.isfinite(float(v))


def _text(v) -> bool:
    return isinstance(v, str)


def _numbers(v) -> bool:
    """An object of finite numbers."""
    return isinstance(v, dict) and all(_number(x) for x in v.values())


def _diff(v) -> bool:
    """A grads Diff: max_abs, rel (may be infinite for a shape mismatch) and cosine."""
    return isinstance(v, dict) and all(
        _number(v.get(k)) or v.get(k) == float("inf") for k in ("max_abs", "rel", "cosine")
    )


def _objects(data: dict, key: str, fields: dict) -> str | None:
    """``data[key]`` must be a list of objects whose ``fields`` pass their checks."""
    items = data.get(key)
    if not isinstance(items, list):
        return f"{key} must be a list"
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{key}[{i}] must be an object"
        for name, ok in fields.items():
            if not ok(item.get(name)):
                return f"{key}[{i}].{name} is missing or of the wrong type"
    return None


GRADS_ROW = {
    "model": _text,
    "dtype": _text,
    "status": _text,
    "judged_as": _text,
    "loss": _diff,
    "logits": _diff,
    "overall": _diff,
    "worst_variable_rel": _number,
}
TRAJECTORY_ROW = {
    "model": _text,
    "optimizer": _text,
    "a": _text,
    "b": _text,
    "weight_rel": _numbers,
    "loss_abs_diff_max": _number,
}


def grads_problem(data: dict) -> str | None:
    """What makes a grads file unusable for the report, or None."""
    for key in ("settings", "weights_identical", "float64_precision"):
        if not isinstance(data.get(key), dict):
            return f"{key} must be an object"
    return (
        _objects(data, "pairs", {**GRADS_ROW, "a": _text, "b": _text})
        or _objects(data, "reference", {**GRADS_ROW, "backend": _text})
        or _objects(data, "trajectory", TRAJECTORY_ROW)
    )


def sweep_problem(data: dict) -> str | None:
    """What makes a sweep file unusable for the report, or None."""
    for key in ("overhead", "margin"):
        o = data.get(key)
        if o is not None and not (isinstance(o, dict) and _number(o.get("ratio"))):
            return f"{key} must be null or an object with a finite ratio"
    if not (_text(data.get("backend")) and _text(data.get("model"))):
        return "backend and model must be names"
    return _objects(data, "modes", {"mode": _text, "status": _text})


def rounds_problem(data: dict) -> str | None:
    """What makes a rounds log unusable for the report, or None."""
    schedules = data.get("schedules")
    if not isinstance(schedules, list) or not all(isinstance(s, dict) for s in schedules):
        return "schedules must be a list of objects"
    turn = {"wall_s": _number, "waiting_cpu_s": _numbers}
    return next((p for s in schedules if (p := _objects(s, "turns", turn))), None)


VERSIONS = {GRADS_SCHEMA: GRADS_VERSION, SWEEP_SCHEMA: SWEEP_VERSION, ROUNDS_SCHEMA: 1}
SHAPES = {GRADS_SCHEMA: grads_problem, SWEEP_SCHEMA: sweep_problem, ROUNDS_SCHEMA: rounds_problem}


def device_key(run: dict) -> str:
    """Results are only ranked against others from the same device and machine."""
    env = run.environment
    dev = env.get("device", {})
    return (
        f"{dev.get('kind', '?')}: {dev.get('name', '?')} on {env.get('cpu', '?')} "
        f"({env.get('cpu_cores_logical', '?')} cores, {env.get('hostname', '?')})"
    )


SPEED_THRESHOLD = 0.05  # rank two backends only when they differ by more than this
ACCURACY_MARGIN = 0.002  # paired accuracy differences within ±0.2 points are "equivalent"
VARIANT_KEYS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "schedule",
    "jit",
    "data_format",
    "steps_per_execution",
    "threads",
    "train_examples",
    "test_examples",
    "allow_tf32",
    "chunk_steps",
    "load_weights",
    "devices",
    "loop",
)
VARIANT_DEFAULTS = {
    "load_weights": None,
    "devices": 1,
    "loop": "fit",
}  # left out of the text when default


def variant(config: dict) -> str:
    """The settings a cell's numbers depend on besides backend, model, impl and seed:
    only cells with the same variant are compared or pooled."""
    values = [(k, config.get(k)) for k in VARIANT_KEYS]
    return ", ".join(
        f"{k}={v}" for k, v in values if v is not None and v != VARIANT_DEFAULTS.get(k, ...)
    )


def scaling_rows(cells: dict[tuple, list]) -> list[dict]:
    """Per backend and model with results on 1 and on N > 1 devices and otherwise the
    same settings (loop included): throughput ratio N÷1 and scaling efficiency =
    ratio / N, with a 95% interval paired by round where both trained in the same
    rounds (``compare --devices N``), else a Welch interval over runs (seeds)."""
    by: dict[tuple, dict[int, list]] = {}
    for (backend, model, impl, _), runs in cells.items():
        ok = _ok(runs)
        if impl != "keras" or not ok:
            continue
        n = int(ok[0].config.get("devices") or 1)
        base = variant({**ok[0].config, "devices": 1})
        by.setdefault((backend, model, base), {}).setdefault(n, []).extend(ok)
    rows = []
    for (backend, model, base), per_n in by.items():
        if 1 not in per_n:
            continue
        one = [r.throughput_examples_per_s for r in per_n[1]]
        for n in sorted(k for k in per_n if k > 1):
            many = [r.throughput_examples_per_s for r in per_n[n]]
            ratio = speed_ratio(per_n[1], per_n[n])  # throughput N ÷ 1, paired by round
            eff = Ratio(
                ratio.ratio / n,
                None if ratio.low is None else ratio.low / n,
                None if ratio.high is None else ratio.high / n,
                ratio.n,
                ratio.method,
            )
            engine = per_n[n][0].environment.get("settings", {}).get("data_parallel", {})
            rows.append(
                {
                    "backend": backend,
                    "model": model,
                    "devices": n,
                    "throughput_1": float(np.exp(np.mean(np.log(one)))),
                    "throughput_n": float(np.exp(np.mean(np.log(many)))),
                    "ratio": ratio,
                    "efficiency": eff,
                    "runs": (len(one), len(many)),
                    "engine": engine.get("engine", "?"),
                    "variant": base,
                }
            )
    order = ["softmax", "mlp", "cnn"]
    return sorted(
        rows,
        key=lambda r: (
            order.index(r["model"]) if r["model"] in order else 9,
            r["backend"],
            r["devices"],
        ),
    )


def group(runs: list[dict]) -> dict[str, dict[tuple, list[dict]]]:
    """device key -> (backend, model, impl, variant) -> runs, one per seed: a newer
    result for the same seed replaces an older one (e.g. after ``--force``)."""
    groups: dict[str, dict[tuple, dict[int, dict]]] = {}
    for r in sorted(runs, key=lambda r: r.environment.get("timestamp", "")):
        c = r.config
        key = (c["backend"], c["model"], c.get("impl", "keras"), variant(c))
        groups.setdefault(device_key(r), {}).setdefault(key, {})[c["seed"]] = r
    return {d: {k: list(v.values()) for k, v in cells.items()} for d, cells in groups.items()}


def model_groups(cells: dict[tuple, list[dict]], impl: str = "keras") -> list[tuple[str, str]]:
    """(model, variant) pairs present, in registry order."""
    order = ["softmax", "mlp", "cnn"]
    keys = {(m, v) for (_, m, i, v) in cells if i == impl}
    return sorted(keys, key=lambda k: (order.index(k[0]) if k[0] in order else 9, k[1]))


def _ok(runs: list[dict]) -> list[dict]:
    return [r for r in runs if r.status == "ok"]


def round_throughputs(run: dict) -> dict[tuple, float]:
    """(schedule, round) -> examples/s of that chunk, for chunks trained in rounds."""
    batch = run.config["batch_size"]
    return {
        (run.schedule, c.round): c.steps * batch / c.seconds
        for c in run.chunks
        if c.round is not None and c.seconds > 0
    }


def _cells_for(cells, model, var, impl="keras") -> dict[str, list[dict]]:
    return {
        b: _ok(runs)
        for (b, m, i, v), runs in cells.items()
        if m == model and v == var and i == impl and _ok(runs)
    }


def speed_ratio(runs_b: list[dict], runs_f: list[dict]) -> Ratio:
    """Time ratio of backend b to backend f (> 1: b is slower): paired by round where
    the two trained side by side in the same schedule, else unpaired over runs."""
    tb, tf = {}, {}
    for r in runs_b:
        tb.update(round_throughputs(r))
    for r in runs_f:
        tf.update(round_throughputs(r))
    paired = clustered_rates(tf, tb)
    if paired is not None:
        return paired
    return unpaired_ratio(
        [r.throughput_examples_per_s for r in runs_f],
        [r.throughput_examples_per_s for r in runs_b],
    )


def speed_rows(cells: dict[tuple, list[dict]], model: str, var: str, impl="keras") -> list[dict]:
    """Per backend: training throughput (plain fit(), chunked), its time ratio to the
    fastest with a 95% CI from paired rounds, the verdict, the drift it saw, and
    beside them the step-latency diagnostic, compile time, time to target, memory."""
    per = _cells_for(cells, model, var, impl)
    per = {b: runs for b, runs in per.items() if all(r.throughput_examples_per_s for r in runs)}
    if not per:
        return []
    geo = {
        b: float(np.exp(np.mean([np.log(r.throughput_examples_per_s) for r in runs])))
        for b, runs in per.items()
    }
    fastest = max(geo, key=geo.get)
    rows = []
    for b in sorted(per, key=lambda b: -geo[b]):
        runs = per[b]
        ratio = None if b == fastest else speed_ratio(runs, per[fastest])
        rounds = [v for r in runs for v in round_throughputs(r).values()]
        lat = [r.latency_ms.median for r in runs if r.latency_ms]
        r0 = runs[0]
        batch = r0.config["batch_size"]
        reached = [r for r in runs if r.time_to_accuracy_s is not None]
        rows.append(
            {
                "backend": b,
                "model": model,
                "variant": var,
                "impl": impl,
                "examples_per_s": geo[b],
                "ms_per_step": batch / geo[b] * 1e3,
                "ratio": ratio,
                "verdict": "fastest" if b == fastest else speed_verdict(ratio, SPEED_THRESHOLD),
                "rounds": len(rounds),
                "drift": drift(rounds) if rounds else None,
                "seeds": len(runs),
                "gflops_per_s": _train_flops(model) * geo[b] / 1e9,
                "peak_gflops": machine_peak(cells)[0],
                "cpu_per_wall": _median_or_none([r.cpu_per_wall for r in runs]),
                "latency_ms": _median_or_none(lat),
                "latency_p10_ms": _median_or_none([r.latency_ms.p10 for r in runs if r.latency_ms]),
                "latency_p90_ms": _median_or_none([r.latency_ms.p90 for r in runs if r.latency_ms]),
                "first_step_ms": _median_or_none([r.first_step_ms for r in runs]),
                "time_to_accuracy_s": _median_or_none([r.time_to_accuracy_s for r in reached]),
                "reached": len(reached),
                "peak_rss_mb": _median_or_none([r.peak_rss_bytes for r in runs], 1 / 2**20),
            }
        )
    return rows


def machine_peak(cells: dict[tuple, list[dict]]) -> tuple[float | None, str | None]:
    """One "% of peak" denominator for a device group: the best float32 2048x2048 matmul
    rate any backend reached on this machine (each run measures its own at start), and
    which backend reached it. Dividing each backend by its own rate, measured at a
    different moment, would make the percentages incomparable."""
    best = max(
        (
            (r.environment.get("settings", {}).get("matmul_peak_gflops") or 0.0, b)
            for (b, _, _, _), runs in cells.items()
            for r in runs
        ),
        default=(0.0, None),
    )
    return (best[0], best[1]) if best[0] else (None, None)


def _train_flops(model: str) -> int:
    """Training FLOPs per example from the registry (0 for a model not in it)."""
    from models import MODELS

    return MODELS[model].train_flops_per_example if model in MODELS else 0


def native_rows(cells: dict[tuple, list[dict]]) -> list[dict]:
    """Per model group and backend trained both ways: Keras' time per example over the
    native implementation's on the same backend (> 1: Keras is slower), paired by round
    where both trained in the same rounds (``compare --native``)."""
    out = []
    for model, var in model_groups(cells):
        keras, native = _cells_for(cells, model, var), _cells_for(cells, model, var, "native")
        for b in sorted(set(keras) & set(native)):
            q = speed_ratio(keras[b], native[b])
            out.append(
                {
                    "backend": b,
                    "model": model,
                    "variant": var,
                    "ratio": q,
                    "verdict": speed_verdict(q, SPEED_THRESHOLD),
                }
            )
    return out


def _median_or_none(values, scale: float = 1.0):
    v = [x for x in values if x is not None]
    return float(np.median(v)) * scale if v else None


def _fmt_ratio(r: Ratio) -> str:
    if r.low is None:
        return f"{r.ratio:.2f}x (no CI: {r.method})"
    return f"{r.ratio:.2f}x [{r.low:.2f}, {r.high:.2f}]"


def speed_sentence(rows: list[dict]) -> str:
    """One sentence: who is fastest, by how much, and where the data cannot tell."""
    if len(rows) < 2:
        return "only one backend measured"
    best = rows[0]["backend"]
    parts = []
    for r in rows[1:]:
        if r["verdict"] == "slower":
            parts.append(f"{r['backend']} takes {_fmt_ratio(r['ratio'])} as long")
        else:
            parts.append(
                f"{best} and {r['backend']} are indistinguishable here ({_fmt_ratio(r['ratio'])}, "
                f"threshold {SPEED_THRESHOLD:.0%})"
            )
    lead = (
        f"{best} has the highest training throughput"
        if any(r["verdict"] == "slower" for r in rows[1:])
        else f"no backend is clearly faster than {best}"
    )
    return f"{lead}; " + "; ".join(parts)


def accuracy_rows(
    cells: dict[tuple, list[dict]], speed: dict[tuple, list[dict]], impl: str = "keras"
) -> list[dict]:
    """Per cell: mean ± std of final test accuracy over seeds, against the target, and
    the paired (same seed) difference to the fastest backend with CI and TOST.
    ``speed`` maps (model, variant) to its ``speed_rows``, whose first row is the fastest."""
    rows = []
    for model, var in model_groups(cells, impl):
        per = {
            b: runs for (b, m, i, v), runs in cells.items() if m == model and v == var and i == impl
        }
        fastest = speed.get((model, var))
        ref = fastest[0]["backend"] if fastest else None
        for b, runs in sorted(per.items()):
            ok = _ok(runs)
            accs = [r.final_test_accuracy for r in ok]
            target = runs[0].model.get("target_accuracy")
            diff = None
            if ref and b != ref:
                mine = {r.config["seed"]: r.final_test_accuracy for r in ok}
                theirs = {r.config["seed"]: r.final_test_accuracy for r in _ok(per[ref])}
                seeds = sorted(set(mine) & set(theirs))
                if seeds:
                    diff = paired_difference(
                        [mine[s] for s in seeds], [theirs[s] for s in seeds], ACCURACY_MARGIN
                    )
            rows.append(
                {
                    "backend": b,
                    "model": model,
                    "variant": var,
                    "impl": impl,
                    "n": len(accs),
                    "mean": float(np.mean(accs)) if accs else None,
                    "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else None,
                    "target": target,
                    "reached": bool(accs) and target is not None and float(np.mean(accs)) >= target,
                    "failed": sum(r.status != "ok" for r in runs),
                    "epochs": runs[0].config.get("epochs"),
                    "reference": ref,
                    "difference": diff,
                }
            )
    return rows


def accuracy_sentence(rows: list[dict], model: str, var: str) -> str:
    """Whether the backends' accuracies are equivalent within the margin, paired by seed."""
    diffs = [r for r in rows if r["model"] == model and r["variant"] == var and r["difference"]]
    if not diffs:
        return "no accuracy pairs"
    parts = []
    for r in diffs:
        d = r["difference"]
        if d.equivalent is None:
            parts.append(
                f"{r['backend']} − {r['reference']} {d.mean * 100:+.2f} points from {d.n} seed: "
                "cannot tell (needs at least 2 seeds)"
            )
        else:
            word = "equivalent" if d.equivalent else "not shown equivalent"
            parts.append(
                f"{r['backend']} − {r['reference']} {d.mean * 100:+.2f} points "
                f"[{d.low * 100:+.2f}, {d.high * 100:+.2f}] over {d.n} seeds: {word} "
                f"within ±{d.margin * 100:.1f} (TOST p = {d.p_equivalence:.3f})"
            )
    return "; ".join(parts)


def waiting_cpu_share(logs: list[dict]) -> float | None:
    """From compare's turn logs: the most CPU a waiting worker used during another's
    turn, as a share of that turn (0 means the waiting workers were really idle)."""
    shares = [
        c / t["wall_s"]
        for log in logs
        for sched in log["schedules"]
        for t in sched["turns"]
        if t["wall_s"] > 0
        for c in t["waiting_cpu_s"].values()
    ]
    return max(shares) if shares else None


def csv_rows(runs: list[dict], ratios: dict | None = None) -> list[dict]:
    """One flat row per cell, for pandas; units in the column names. ``ratios`` maps
    (device, backend, model, variant) to that cell group's ratio row."""
    rows = []
    for r in runs:
        q = (ratios or {}).get(
            (device_key(r), r.config["backend"], r.config["model"], variant(r.config))
        )
        c, lat = r.config, r.latency_ms
        env = r.environment
        rows.append(
            {
                "device": device_key(r),
                "device_kind": env.get("device", {}).get("kind"),
                "device_name": env.get("device", {}).get("name"),
                "cpu_model": env.get("cpu"),
                "cpu_cores": env.get("cpu_cores_logical"),
                "hostname": env.get("hostname"),
                "keras_version": env.get("keras"),
                "framework_versions": " ".join(
                    f"{k}=={v}" for k, v in (env.get("framework") or {}).items()
                ),
                "backend": c["backend"],
                "model": c["model"],
                "impl": c.get("impl", "keras"),
                "seed": c["seed"],
                "status": r.status,
                "epochs": c["epochs"],
                "batch_size": c["batch_size"],
                "optimizer": c.get("optimizer"),
                "learning_rate": c.get("learning_rate"),
                "train_examples": c.get("train_examples"),
                "jit": c["jit"],
                "data_format": c["data_format"],
                "test_accuracy_fraction": r.final_test_accuracy,
                "throughput_examples_per_s": r.throughput_examples_per_s,
                "throughput_ms_per_step": r.ms_per_step,
                "time_ratio_to_fastest": q["time_ratio_to_fastest"] if q else None,
                "time_ratio_ci_low": q["time_ratio_ci_low"] if q else None,
                "time_ratio_ci_high": q["time_ratio_ci_high"] if q else None,
                "chunks": len(r.chunks),
                "chunk_steps": r.chunk_steps,
                "latency_median_ms": lat.median if lat else None,
                "latency_p10_ms": lat.p10 if lat else None,
                "latency_p90_ms": lat.p90 if lat else None,
                "first_step_ms": r.first_step_ms,
                "fit_setup_s": r.fit_setup_s,
                "cpu_seconds_per_wall_s": r.cpu_per_wall,
                "time_to_accuracy_s": r.time_to_accuracy_s,
                "train_time_s": r.total_train_seconds,
                "peak_rss_bytes": r.peak_rss_bytes,
                "schedule": r.schedule,
                "run_id": r.run_id,
                "cell": r.cell,
            }
        )
    return rows


def grads_csv_rows(grads: dict | None) -> list[dict]:
    """One flat row per gradient comparison (backend pairs and numpy references)."""
    if not grads:
        return []
    rows = []
    for kind, items in (("pair", grads["pairs"]), ("reference", grads["reference"])):
        for p in items:
            rows.append(
                {
                    "comparison": kind,
                    "model": p["model"],
                    "dtype": p["dtype"],
                    "judged_as": p["judged_as"],
                    "a": p.get("a", p.get("backend")),
                    "b": p.get("b", "numpy"),
                    "loss_abs_diff": p["loss"]["max_abs"],
                    "logits_rel_diff": p["logits"]["rel"],
                    "grads_max_abs_diff": p["overall"]["max_abs"],
                    "grads_rel_diff": p["overall"]["rel"],
                    "grads_cosine": p["overall"]["cosine"],
                    "worst_variable_rel_diff": p["worst_variable_rel"],
                    "verdict": p["status"],
                }
            )
    return rows


def ratio_rows(speed: dict[tuple, list[dict]]) -> list[dict]:
    """Per cell group and backend: the throughput ratio to the fastest and its CI (CSV),
    from the (model, variant) -> ``speed_rows`` mapping."""
    out = []
    for (model, var), rows in speed.items():
        for r in rows:
            q = r["ratio"]
            out.append(
                {
                    "model": model,
                    "variant": var,
                    "backend": r["backend"],
                    "throughput_examples_per_s": r["examples_per_s"],
                    "time_ratio_to_fastest": q.ratio if q else 1.0,
                    "time_ratio_ci_low": q.low if q else None,
                    "time_ratio_ci_high": q.high if q else None,
                    "rounds": r["rounds"],
                    "verdict": r["verdict"],
                }
            )
    return out


def recommendation(device: dict, grads_ok: bool | None) -> list[str]:
    """Short advice per model, derived only from the numbers in the report."""
    lines = []
    for (model, var), rows in device["speed"].items():
        if not rows:
            continue
        label = (
            model if len({v for m, v in device["speed"] if m == model}) == 1 else f"{model} ({var})"
        )
        lines.append(
            f"{label}: {speed_sentence(rows)}. Accuracy: "
            f"{accuracy_sentence(device['accuracy'], model, var)}."
        )
    if grads_ok is not None:
        lines.append(
            "Gradients: the backends compute equivalent losses and gradients "
            "(see the gradient table)."
            if grads_ok
            else "Gradients: at least one comparison FAILED; check the gradient table "
            "before trusting cross-backend results."
        )
    return lines


STEP_CHANGE = 0.10  # diff flags throughput changes larger than this, CI excluding 1 ...
UNPAIRED_DRIFT = 0.30  # ... or, with one run a side (no CI), larger than the VM drift seen
ACC_FLOOR = 0.003  # with fewer than 2 seeds, accuracy changes beyond 0.3 points are flagged


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
        if q.low is not None:
            changed = (q.low > 1 or q.high < 1) and abs(q.ratio - 1) > STEP_CHANGE
        else:
            changed = abs(q.ratio - 1) > UNPAIRED_DRIFT
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
                "old_examples_per_s": float(np.exp(np.mean(np.log(ta)))),
                "new_examples_per_s": float(np.exp(np.mean(np.log(tb)))),
                "time_ratio": q,
                "step_flag": ("slower" if q.ratio > 1 else "faster") if changed else "",
                "old_acc": float(np.mean(acc_a)),
                "new_acc": float(np.mean(acc_b)),
                "acc_delta": delta,
                "acc_flag": acc_flag,
            }
        )
    return rows
