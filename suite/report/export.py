"""The report's CSV files, units in the column names, for pandas: one row per cell
(report.csv), per timed chunk (report-rounds.csv: every ratio and CI in the report can
be recomputed from it), per gradient comparison, per recipe run and per weight transfer."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict

import numpy as np

from suite.core.results import NOISE_NUMBERS
from suite.report.groups import device_key, time_to_target_of, variant
from suite.report.noise import chunk_rows, flagged


def _ci(prefix: str, q) -> dict:
    """A ratio's columns: value, CI bounds and what the CI counted."""
    return {
        prefix: q.ratio if q else None,
        f"{prefix}_ci_low": q.low if q else None,
        f"{prefix}_ci_high": q.high if q else None,
        f"{prefix}_ci_method": q.method if q else None,
    }


def csv_rows(
    runs: list[dict],
    ratios: dict | None = None,
    inference: dict | None = None,
    superseded: frozenset = frozenset(),
) -> list[dict]:
    """One flat row per cell, for pandas; units in the column names. ``ratios`` maps
    (device, backend, model, variant) to that cell group's ratio row, ``inference`` to
    its ``inference_rows`` row; a run in ``superseded`` (by its cell name and run id:
    a newer result of the same cell replaced it, ``suite.report.groups.group``) is
    marked so and has no ratio."""
    rows = []
    for r in runs:
        key = (device_key(r), r.config["backend"], r.config["model"], variant(r.config))
        old = (r.cell, r.run_id) in superseded
        twin = r.config.get("process", 0) > 0  # an A/A twin: no ratio of its own
        q = None if twin or old else (ratios or {}).get(key)
        inf = {} if twin or old else (inference or {}).get(key) or {}
        rows.append(
            {**_machine(r), **_cell(r, old), **_training(r, q), **_inference(r, inf),
             **_provenance(r)}
        )  # fmt: skip
    return rows


def _machine(r) -> dict:
    env = r.environment
    return {
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
    }


def _identity(r, old: bool) -> dict:
    """The columns that name a cell's run, in every CSV's order: which backend, model,
    implementation, variant, seed and process, and whether a newer run superseded it."""
    c = r.config
    return {
        "backend": c["backend"],
        "model": c["model"],
        "impl": c.get("impl", "keras"),
        "variant": variant(c),
        "seed": c["seed"],
        "process": c.get("process", 0),
        "superseded": int(old),
    }


def _cell(r, old: bool) -> dict:
    c = r.config
    return {
        **_identity(r, old),
        "status": r.status,
        "epochs": c["epochs"],
        "batch_size": c["batch_size"],
        "optimizer": c.get("optimizer"),
        "learning_rate": c.get("learning_rate"),
        "train_examples": c.get("train_examples"),
        "jit": c["jit"],
        "data_format": c["data_format"],
    }


RATIO_COLUMNS = (
    "time_ratio_to_fastest", "time_ratio_ci_low", "time_ratio_ci_high",
    "time_ratio_rerun_low", "time_ratio_rerun_high", "ci_method", "ci_units", "ci_n",
)  # fmt: skip


def _training(r, q: dict | None) -> dict:
    lat = r.latency_ms
    return {
        "test_accuracy_fraction": r.final_test_accuracy,
        "throughput_examples_per_s": r.throughput_examples_per_s,
        "throughput_ms_per_step": r.ms_per_step,
        **{k: q[k] if q else None for k in RATIO_COLUMNS},
        "chunks": len(r.chunks),
        "chunk_steps": r.chunk_steps,
        "latency_median_ms": lat.median if lat else None,
        "latency_p10_ms": lat.p10 if lat else None,
        "latency_p90_ms": lat.p90 if lat else None,
        "first_step_ms": r.first_step_ms,
        "fit_setup_s": r.fit_setup_s,
        "cpu_seconds_per_wall_s": r.cpu_per_wall,
        "time_to_accuracy_s": time_to_target_of(r),
        "train_time_s": r.total_train_seconds,
        "peak_rss_bytes": r.peak_rss_bytes,
        "peak_device_bytes": r.peak_device_bytes,
    }


def _inference(r, inf: dict) -> dict:
    return {
        "dtype_policy": r.config.get("dtype_policy", "float32"),
        "half_type_not_native": r.environment.get("half_support"),
        "predict_examples_per_s": r.predict_examples_per_s,
        "predict_first_s": r.predict_first_s,
        "single_example_median_ms": r.single_median_ms,
        "single_example_p99_ms": r.single_p99_ms,
        "single_example_first_ms": r.single_first_ms,
        **_ci("predict_time_ratio_to_fastest", inf.get("predict_ratio")),
        **_ci("single_example_latency_ratio_to_lowest", inf.get("single_ratio")),
    }


def _provenance(r) -> dict:
    return {
        "schedule": r.schedule,
        "run_id": r.run_id,
        "cell": r.cell,
        "run_timestamp": r.environment.get("timestamp"),
        "git_commit": r.environment.get("git_commit"),
    }


def rounds_csv_rows(runs: list, superseded: frozenset = frozenset()) -> list[dict]:
    """One row per chunk trained in rounds: the raw data of every time ratio. A ratio's
    rounds are the chunks of two backends with the same ``run`` (schedule) and
    ``round``; examples/s = steps × batch_size ÷ seconds. ``process`` names the worker
    process of its participant that trained the chunk (0 the first, 1 its A/A twin)."""
    rows = []
    marked = flagged([row for r in runs for row in chunk_rows(r)])
    for r in runs:
        c = r.config
        for chunk in r.chunks:
            if chunk.round is None or chunk.seconds <= 0:
                continue
            rows.append(
                {
                    "device": device_key(r),
                    **_identity(r, (r.cell, r.run_id) in superseded),
                    "run": r.schedule,
                    "round": chunk.round,
                    "steps": chunk.steps,
                    "batch_size": c["batch_size"],
                    "seconds": chunk.seconds,
                    "examples_per_s": chunk.steps * c["batch_size"] / chunk.seconds,
                    **{k: getattr(chunk, k) for k in NOISE_NUMBERS},
                    "flagged": int((r.schedule, chunk.round) in marked),
                }
            )
    return rows


def inference_csv_rows(runs: list, superseded: frozenset = frozenset()) -> list[dict]:
    """One row per inference turn taken in rounds: the raw data of every inference
    ratio (paired like chunks, by ``run`` and ``round``). A ratio of single-example
    latencies is taken between the turns' medians."""
    rows = []
    for r in runs:
        c = r.config
        for i in r.inference:
            if i.round is None or i.seconds <= 0 or not i.single_ms:
                continue
            rows.append(
                {
                    "device": device_key(r),
                    "backend": c["backend"],
                    "model": c["model"],
                    "variant": variant(c),
                    "seed": c["seed"],
                    "superseded": int((r.cell, r.run_id) in superseded),
                    "run": r.schedule,
                    "round": i.round,
                    "predict_examples": i.examples,
                    "predict_seconds": i.seconds,
                    "predict_examples_per_s": i.examples / i.seconds,
                    "single_example_calls": len(i.single_ms),
                    "single_example_median_ms": float(np.median(i.single_ms)),
                    "single_example_p99_ms": float(np.percentile(i.single_ms, 99)),
                }
            )
    return rows


def recipes_csv_rows(results: list) -> list[dict]:
    """One row per notebook-recipe run (``python -m suite recipes --compare``)."""
    fields = ("recipe", "backend", "device", "seed", "epochs", "train_examples", "test_examples")
    return [
        {
            **{k: getattr(r, k) for k in fields},
            "final_accuracy_fraction": r.final_accuracy,
            "notebook_accuracy_fraction": r.published,
            "wall_seconds": r.wall_seconds,
            "timestamp": r.environment.get("timestamp"),
        }
        for r in results
    ]


def portability_csv_rows(blob: dict | None) -> list[dict]:
    """One row per weight transfer (saved on one backend, loaded on another)."""
    if not blob:
        return []
    return [
        {**asdict(t), "train_examples": blob["train_examples"], "created": blob.get("created")}
        for t in blob["transfers"]
    ]


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


def csv_text(report: dict, key: str = "csv") -> str:
    buf = io.StringIO()
    rows = report[key]
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()
