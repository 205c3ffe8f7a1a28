"""The report's tables as rows of plain data: speed, accuracy, scaling, Keras ÷
native, recipes and weights across backends. Pure functions over grouped results."""

from __future__ import annotations

import numpy as np

from suite.core.recipes import RECIPES
from suite.core.stats import (
    SPEED_THRESHOLD,
    ProcessVariance,
    Ratio,
    clustered_rates,
    drift,
    paired_difference,
    speed_verdict,
    unpaired_ratio,
)
from suite.report.groups import (
    accuracy_by_seed,
    cells_for,
    geomean,
    median_or_none,
    model_groups,
    model_order,
    ok_runs,
    round_throughputs,
    target_of,
    time_to_target_of,
    train_flops,
    variant,
)
from suite.report.layout import ci_units

ACCURACY_MARGIN = 0.002  # paired accuracy differences within ±0.2 points are "equivalent"


def speed_ratio(
    runs_b: list[dict],
    runs_f: list[dict],
    rates=round_throughputs,
    total: str = "throughput_examples_per_s",
    invert: bool = False,
    process: ProcessVariance | None = None,
) -> Ratio:
    """Time ratio of backend b to backend f (> 1: b is slower): paired by round where
    the two ran side by side in the same schedule, else unpaired over runs. ``rates``
    maps a run to its per-round rates (training chunks by default; inference turns),
    ``total`` names its overall figure for the unpaired case, a time when ``invert``;
    ``process``, the device group's between-process variance, goes into the paired
    interval (``suite.core.stats.with_processes``)."""
    tb, tf = {}, {}
    for r in runs_b:
        tb.update(rates(r))
    for r in runs_f:
        tf.update(rates(r))
    paired = clustered_rates(tf, tb, process=process)
    if paired is not None:
        return paired
    a = [getattr(r, total) for r in runs_f]
    b = [getattr(r, total) for r in runs_b]
    return unpaired_ratio(b, a) if invert else unpaired_ratio(a, b)


def speed_rows(
    cells: dict[tuple, list[dict]],
    model: str,
    var: str,
    impl="keras",
    process: ProcessVariance | None = None,
) -> list[dict]:
    """Per backend: training throughput (plain fit(), chunked), its time ratio to the
    fastest with a 95% CI from paired rounds (with the worker process inside it when
    ``process`` is given), the verdict, the drift it saw, and beside them the
    step-latency diagnostic, compile time, time to target, memory."""
    per = cells_for(cells, model, var, impl)
    per = {b: runs for b, runs in per.items() if all(r.throughput_examples_per_s for r in runs)}
    if not per:
        return []
    geo = {b: geomean([r.throughput_examples_per_s for r in runs]) for b, runs in per.items()}
    fastest = max(geo, key=geo.get)
    rows = []
    for b in sorted(per, key=lambda b: -geo[b]):
        runs = per[b]
        ratio = None if b == fastest else speed_ratio(runs, per[fastest], process=process)
        rounds = [v for r in runs for v in round_throughputs(r).values()]
        lat = [r.latency_ms.median for r in runs if r.latency_ms]
        r0 = runs[0]
        batch = r0.config["batch_size"]
        tta = {id(r): time_to_target_of(r) for r in runs}
        reached = [r for r in runs if tta[id(r)] is not None]
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
                "seeds": len(runs),  # runs, each timed to target: seeds, or repetitions too
                "runs_word": "runs" if any(r.config.get("repeat", 0) for r in runs) else "seeds",
                "gflops_per_s": flops * geo[b] / 1e9 if (flops := train_flops(model)) else None,
                "peak_gflops": machine_peak(cells)[0],
                "cpu_per_wall": median_or_none([r.cpu_per_wall for r in runs]),
                "latency_ms": median_or_none(lat),
                "latency_p10_ms": median_or_none([r.latency_ms.p10 for r in runs if r.latency_ms]),
                "latency_p90_ms": median_or_none([r.latency_ms.p90 for r in runs if r.latency_ms]),
                "first_step_ms": median_or_none([r.first_step_ms for r in runs]),
                "time_to_accuracy_s": median_or_none([tta[id(r)] for r in reached]),
                "reached": len(reached),
                "peak_rss_mb": median_or_none([r.peak_rss_bytes for r in runs], 1 / 2**20),
                "on_gpu": any(r.config.get("device") == "gpu" for r in runs),
                "peak_device_mb": median_or_none(
                    [r.peak_device_bytes for r in runs if r.peak_device_bytes], 1 / 2**20
                ),
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


def native_rows(cells: dict[tuple, list[dict]]) -> list[dict]:
    """Per model group and backend trained both ways: Keras' time per example over the
    native implementation's on the same backend (> 1: Keras is slower), paired by round
    where both trained in the same rounds (``compare --native``)."""
    out = []
    for model, var in model_groups(cells):
        keras, native = cells_for(cells, model, var), cells_for(cells, model, var, "native")
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


def scaling_rows(cells: dict[tuple, list]) -> list[dict]:
    """Per backend and model with results on 1 and on N > 1 devices (over one host or
    several: N counts every host's) and otherwise the same settings (loop included):
    throughput ratio N÷1 and scaling efficiency = ratio / N, with a 95% interval
    paired by round where both trained in the same rounds (``compare --devices N``),
    else a Welch interval over runs (seeds)."""
    by: dict[tuple, dict[tuple[int, int], list]] = {}
    for (backend, model, impl, _), runs in cells.items():
        ok = ok_runs(runs)
        if impl != "keras" or not ok:
            continue
        place = (int(ok[0].config.get("hosts") or 1), int(ok[0].config.get("devices") or 1))
        base = variant({**ok[0].config, "devices": 1, "hosts": 1})
        by.setdefault((backend, model, base), {}).setdefault(place, []).extend(ok)
    rows = []
    for (backend, model, base), per_n in by.items():
        if (1, 1) not in per_n:
            continue
        one = [r.throughput_examples_per_s for r in per_n[1, 1]]
        for hosts, devices in sorted(k for k in per_n if k != (1, 1)):
            n = hosts * devices  # replicas in all
            many = [r.throughput_examples_per_s for r in per_n[hosts, devices]]
            # throughput N ÷ 1, paired by round
            ratio = speed_ratio(per_n[1, 1], per_n[hosts, devices])
            eff = Ratio(
                ratio.ratio / n,
                None if ratio.low is None else ratio.low / n,
                None if ratio.high is None else ratio.high / n,
                ratio.n,
                ratio.method,
            )
            first = per_n[hosts, devices][0]
            engine = first.environment.get("settings", {}).get("data_parallel", {})
            rows.append(
                {
                    "backend": backend,
                    "model": model,
                    "hosts": hosts,
                    "devices": n,
                    "throughput_1": geomean(one),
                    "throughput_n": geomean(many),
                    "ratio": ratio,
                    "efficiency": eff,
                    "runs": (len(one), len(many)),
                    "engine": engine.get("engine", "?"),
                    "variant": base,
                }
            )
    return sorted(
        rows, key=lambda r: (model_order(r["model"]), r["backend"], r["hosts"], r["devices"])
    )


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
            # synthetic data has no accuracy (None): such runs count for speed only
            mine = accuracy_by_seed(ok_runs(runs))
            accs = list(mine.values())
            target = target_of(runs[0])
            diff = None
            if ref and b != ref:
                theirs = accuracy_by_seed(ok_runs(per[ref]))
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
                    "time_ratio_rerun_low": q.pi_low if q else None,
                    "time_ratio_rerun_high": q.pi_high if q else None,
                    "ci_method": q.method if q else None,
                    "ci_units": ci_units(q) if q else None,
                    "ci_n": q.n if q else None,
                    "rounds": r["rounds"],
                    "verdict": r["verdict"],
                }
            )
    return out


def recipe_rows(results: list, backends: list[str]) -> list[list[str]]:
    """Per recipe: the notebook's figure and each backend's final accuracy in percent (the
    mean and range over seeds when several), with the mean's gap to the notebook in
    points when the run had the recipe's own epochs."""
    rows = []
    for name, recipe in RECIPES.items():
        mine = [r for r in results if r.recipe == name]
        if not mine:
            continue
        epochs = max(r.epochs for r in mine)
        row = [name, str(epochs), f"{recipe.published:.2%}" if recipe.published else "—"]
        for b in backends:
            acc = [r.final_accuracy for r in mine if r.backend == b and r.epochs == epochs]
            if not acc:
                row.append("—")
                continue
            text = f"{np.mean(acc):.2%}"
            if recipe.published and epochs == recipe.epochs:
                text += f" ({100 * (np.mean(acc) - recipe.published):+.2f})"
            if len(acc) > 1:
                text += f", {len(acc)} seeds {min(acc):.2%}–{max(acc):.2%}"
            row.append(text)
        rows.append(row)
    return rows


def transfer_table(rows: list) -> tuple[list[str], list[list[str]]]:
    header = [
        "model",
        "saved on",
        "loaded on",
        "max |Δ logit|",
        "tolerance",
        "labels differ",
        "variables equal",
        "verdict",
    ]
    same = {True: "all", False: "NO", None: "-"}
    body = [
        [
            r.model,
            r.source,
            r.target,
            f"{r.max_abs_logit_diff:.2e}",
            f"{r.tolerance:.1e}",
            f"{r.labels_differ} / {r.images}",
            same[r.weights_identical],
            r.verdict,
        ]
        for r in rows
    ]
    return header, body
