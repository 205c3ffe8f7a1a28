"""Execution modes of one backend and model, the fastest that still trains, and
what Keras costs against the native implementation.

A sweep trains the same cell under each mode (jit on/off, channels_first for the
CNN, steps_per_execution > 1, and the native implementation), records every mode,
failures included, and picks the fastest Keras mode whose first-step loss matches
the default mode's and whose accuracy is not degraded. The pure functions here
take results; ``run_sweep`` does the training.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from suite.config import RunConfig
from suite.stats import unpaired_ratio

SCHEMA = "keras-backend-suite/sweep"
FIRST_LOSS_RTOL = 0.05  # first-step loss vs the default mode (dropout draws may differ)
ACCURACY_DROP = 0.005  # at most half a point below the default mode's test accuracy


def sweep_modes(model: str) -> list[dict]:
    """Settings that differ from the default (Keras' own jit choice, channels_last)."""
    modes = [{}, {"jit": "on"}, {"jit": "off"}]
    if model == "cnn":
        modes.append({"data_format": "channels_first"})
    modes += [{"steps_per_execution": 8}, {"impl": "native"}, {"impl": "native", "jit": "on"}]
    return modes


def mode_label(mode: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in mode.items()) or "default"


def _row(mode: dict, r, base) -> dict:
    """One mode's status, median step time, and whether it trains correctly."""
    ok = r.status == "ok" and r.ms_per_step is not None
    first, base_first = _first_loss(r), _first_loss(base)
    loss_ok = (
        ok
        and first is not None
        and base_first is not None
        and abs(first - base_first) <= FIRST_LOSS_RTOL * abs(base_first)
    )
    acc_ok = (
        ok
        and base.final_test_accuracy is not None
        and (r.final_test_accuracy >= base.final_test_accuracy - ACCURACY_DROP)
    )
    return {
        "mode": mode_label(mode),
        "settings": mode,
        "impl": r.config["impl"],
        "status": r.status,
        "error": (r.error or "").splitlines()[0] if r.error else None,
        "ms_per_step": r.ms_per_step if ok else None,  # training throughput's inverse
        "first_step_ms": r.first_step_ms,
        "test_accuracy": r.final_test_accuracy,
        "first_loss": first,
        "trains_correctly": bool(loss_ok and acc_ok),
        "jit_compile_resolved": r.environment.get("settings", {}).get("jit_compile_resolved"),
    }


def _first_loss(r) -> float | None:
    return r.history[0].train_loss if r.history and r.status == "ok" else None


def summarise_sweep(rows: list[dict], chunk_rates: dict[str, list[float]]) -> dict:
    """Best Keras mode, best native mode, and Keras/native time per step. Modes ran one
    after another, not in rounds, so the interval (Welch over each mode's chunk
    throughputs) is within-run only and does not cover drift between the modes."""

    def best(impl):
        good = [r for r in rows if r["impl"] == impl and r["trains_correctly"]]
        return min(good, key=lambda r: r["ms_per_step"]) if good else None

    keras_best, native_best = best("keras"), best("native")
    overhead = None
    if keras_best and native_best:
        q = unpaired_ratio(chunk_rates[native_best["mode"]], chunk_rates[keras_best["mode"]])
        overhead = {
            "keras_mode": keras_best["mode"],
            "native_mode": native_best["mode"],
            "ratio": q.ratio,
            "ci": [q.low, q.high],
            "ci_kind": "within-run (modes not interleaved)",
        }
    return {
        "best_keras": keras_best and keras_best["mode"],
        "best_native": native_best and native_best["mode"],
        "overhead": overhead,
    }


def run_sweep(cfg: RunConfig, mnist, run_dir, applied: dict, log) -> dict:
    """Train every mode, write each result into ``run_dir``, return the sweep summary."""
    from suite.results import write_result
    from suite.train import Progress, run_cell

    results = []
    for mode in sweep_modes(cfg.model):
        mode_cfg = replace(cfg, **mode)
        log(f"[sweep {cfg.backend} {cfg.model}] mode {mode_label(mode)}")
        # an unsupported mode (e.g. steps_per_execution on torch) is recorded as failed
        result, _ = run_cell(mode_cfg, mnist, run_dir.name, applied, Progress(mode_cfg))
        write_result(run_dir / f"{result.cell}.json", result)
        results.append((mode, result))
    base = results[0][1]
    rows = [_row(mode, r, base) for mode, r in results]
    times = {
        mode_label(m): [c.steps * cfg.batch_size / c.seconds for c in r.chunks if c.seconds > 0]
        for m, r in results
    }
    return {
        "schema": SCHEMA,
        "schema_version": 1,
        "backend": cfg.backend,
        "model": cfg.model,
        "base_config": asdict(cfg),
        "modes": rows,
        **summarise_sweep(rows, times),
    }
