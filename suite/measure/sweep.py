"""Execution modes of one backend and model, the fastest that still trains, and
what Keras costs against the native implementation.

A sweep trains the same cell under each mode (jit on/off, channels_first for the
CNN, steps_per_execution > 1, and the native implementation), each mode in its own
worker, all of them side by side in rounds as ``compare`` trains backends (``suite.rounds``): every
mode trains its next chunk in turn, the order alternating, so machine drift is
shared and every ratio between modes has a CI paired by round. It records every
mode, failures included, picks the fastest Keras mode whose first-step loss matches
the default mode's and whose accuracy is not degraded, and states the winner's margin
over the runner-up. The pure functions here take results; ``run_sweep`` trains.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from models import get_model
from models.brought import slug
from suite.core.config import RunConfig, same_as_default, validate
from suite.core.files import write_json
from suite.core.platform import traits
from suite.core.results import load_result
from suite.core.schemas import SWEEP as SCHEMA
from suite.core.schemas import SWEEP_VERSION as SCHEMA_VERSION
from suite.core.stats import (
    SPEED_THRESHOLD,
    ProcessVariance,
    Ratio,
    log_ratios,
    paired_rates,
    process_variance,
    speed_verdict,
    unpaired_ratio,
    with_processes,
)
from suite.rounds.coordinator import TURN_GAP_S, started_workers, train_in_rounds

FIRST_LOSS_RTOL = 0.05  # first-step loss vs the default mode (dropout draws may differ)
ACCURACY_DROP = 0.005  # at most half a point below the default mode's test accuracy
GAIN = SPEED_THRESHOLD  # a mode wins only this much faster than the default, CI above 1
TWIN = "default#2"  # the default mode again, in a second worker process: the A/A control


def sweep_modes(
    model: str, backend: str, policy: str = "float32", keras_only: bool = False
) -> list[dict]:
    """Settings that differ from the default (Keras' own jit choice, channels_last).
    Under a mixed dtype policy, Keras modes only: the native loops train in float32."""
    modes = [{}, {"jit": "on"}, {"jit": "off"}]
    if model == "cnn":
        modes.append({"data_format": "channels_first"})
    modes.append({"steps_per_execution": 8})
    if not get_model(model).native or policy != "float32" or keras_only:
        return modes
    modes += [{"impl": "native"}, {"impl": "native", "jit": "on"}]
    if traits(backend).native_steps_per_execution:  # torch's native loop: one step per call
        modes += [{"impl": "native", "steps_per_execution": 8}]
    return modes


def mode_label(mode: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in mode.items()) or "default"


def _row(mode: dict, r, base) -> dict:
    """One mode's status, median step time, and whether it trains correctly: its
    accuracy not degraded and, for Keras modes, its first epoch's training loss close to
    the default mode's. A native loop logs each chunk's last loss where Keras logs the
    chunk's mean, so native modes are held to accuracy alone (their steps are checked
    against Keras' in tests/frameworks/test_native.py)."""
    ok = r.status == "ok" and r.ms_per_step is not None
    first, base_first = _first_loss(r), _first_loss(base)
    native = r.config["impl"] != "keras"
    loss_ok = ok and (
        native
        or (
            first is not None
            and base_first is not None
            and abs(first - base_first) <= FIRST_LOSS_RTOL * abs(base_first)
        )
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


def _missing(mode: dict) -> dict:
    """A mode whose worker died before writing its result."""
    return {
        "mode": mode_label(mode),
        "settings": mode,
        "impl": mode.get("impl", "keras"),
        "status": "no result",
        "error": "its worker died (see the log)",
        "ms_per_step": None,
        "first_step_ms": None,
        "test_accuracy": None,
        "first_loss": None,
        "trains_correctly": False,
        "jit_compile_resolved": None,
    }


def _first_loss(r) -> float | None:
    return r.history[0].train_loss if r.history and r.status == "ok" else None


def _ratio(slow: dict, fast: dict) -> Ratio:
    """Time ratio of mode ``slow`` to mode ``fast`` from their per-round rates
    (examples/s): paired by round, or Welch when they share too few rounds."""
    paired = paired_rates(fast, slow)
    return (
        paired if paired is not None else unpaired_ratio(list(fast.values()), list(slow.values()))
    )


def _ratio_blob(r: Ratio) -> dict:
    return {"ratio": r.ratio, "ci": [r.low, r.high], "ci_kind": r.method, "rounds": r.n}


def _aa(rates: dict) -> tuple[ProcessVariance | None, dict | None]:
    """The default mode against its twin (the same program in another process): the
    process variance and the A/A ratio, when the sweep trained a twin."""
    if TWIN not in rates or "default" not in rates:
        return None, None
    logs = list(log_ratios(rates["default"], rates[TWIN]).values())
    if len(logs) < 2:
        return None, None
    q = paired_rates(rates["default"], rates[TWIN])
    return process_variance([logs]), _ratio_blob(q)


def _winner(keras: list[dict], rates: dict, process) -> tuple[str | None, dict | None]:
    """The fastest Keras mode that trains correctly, if the data say so: its throughput
    ÷ the default's, paired by round with the worker process inside the interval, must
    exceed 1 + ``GAIN`` with the interval above 1; otherwise the default. Returns the
    mode and that gain (None when the fastest is the default)."""
    if not keras:
        return None, None
    fastest = keras[0]["mode"]
    logs = list(log_ratios(rates.get(fastest, {}), rates.get("default", {})).values())
    if fastest == "default" or len(logs) < 2:
        return fastest, None
    q = with_processes(logs, process)
    wins = q.low is not None and q.low > 1 and q.ratio >= 1 + GAIN
    gain = {"mode": fastest, **_ratio_blob(q), "wins": wins}
    return (fastest if wins else "default"), gain


def summarise_sweep(
    rows: list[dict], rates: dict[str, dict], backend: str = "", device: str = "cpu"
) -> dict:
    """Best Keras mode and its margin over the runner-up, best native mode, and Keras ÷
    native time per step (> 1: Keras is slower), each with a 95% CI paired by round.
    ``rates``: mode -> {round: examples/s of its chunk in that round}. A mode that
    resolves to the default's settings (``same_as_default``) is the default program
    run twice: never a winner, only an A/A pair with the default. The best Keras mode is
    the default unless the fastest beats it clearly (``_winner``); with the default's
    twin (``TWIN`` in ``rates``) the process variance is inside that interval and the
    A/A ratio is recorded."""

    def ranked(impl):
        good = [r for r in rows if r["impl"] == impl and r["trains_correctly"]]
        good = [r for r in good if not (r.get("settings") and twin(r["settings"]))]
        return sorted(good, key=lambda r: r["ms_per_step"])

    def twin(settings: dict) -> bool:
        return bool(backend) and same_as_default(backend, device, settings)

    keras, native = ranked("keras"), ranked("native")
    process, aa = _aa(rates)
    best, gain = _winner(keras, rates, process)
    margin = overhead = None
    if len(keras) > 1:
        r = _ratio(rates[keras[1]["mode"]], rates[keras[0]["mode"]])
        margin = {"runner_up": keras[1]["mode"], **_ratio_blob(r), "verdict": speed_verdict(r)}
    if keras and native:
        r = _ratio(rates[keras[0]["mode"]], rates[native[0]["mode"]])
        overhead = {
            "keras_mode": keras[0]["mode"],
            "native_mode": native[0]["mode"],
            **_ratio_blob(r),
            "verdict": speed_verdict(r),
        }
    return {
        "best_keras": best,
        "fastest_keras": keras[0]["mode"] if keras else None,
        "best_native": native[0]["mode"] if native else None,
        "margin": margin,
        "overhead": overhead,
        "gain": gain,
        "a_a": aa,
    }


def run_sweep(
    cfg: RunConfig, run_dir: Path, data: str | None, env: dict, log, keras_only: bool = False
) -> dict:
    """Train every mode in rounds, one worker each; their results land in ``run_dir``.
    Returns the sweep summary and the rounds log's schedule entry. A mode the framework
    refuses at run time (Keras' torch trainer and steps_per_execution > 1) is trained
    and recorded as failed. A mode whose settings resolve to the default's (torch's and
    TensorFlow's ``jit=off`` on a CPU, JAX's ``jit=on``) is not trained: it is the
    default program, which the default's twin (``TWIN``) already runs again."""
    modes = {
        mode_label(m): m
        for m in sweep_modes(cfg.model, cfg.backend, cfg.dtype_policy, keras_only)
        if not (m and same_as_default(cfg.backend, cfg.device, m))  # the default again
    }
    cells = {n: validate(replace(cfg, **m), check_install=False) for n, m in modes.items()}
    cells[TWIN] = replace(cells[mode_label({})], process=1)
    schedule = f"{run_dir.name}/sweep-{cfg.backend}-{cfg.model}"
    with started_workers(cells, run_dir, data, env, log) as workers:
        live = {n: c for n, c in cells.items() if workers[n] is not None}
        log(f"[sweep {cfg.backend} {cfg.model}] {len(live)} modes in rounds: {', '.join(live)}")
        turns = train_in_rounds(workers, live, schedule, TURN_GAP_S, log)
    results = {}
    for name, c in cells.items():
        path = run_dir / f"{c.cell_name()}.json"
        results[name] = load_result(path) if path.exists() else None
    base = results[mode_label({})]
    if base is None:
        raise RuntimeError(f"the default mode of {cfg.backend} {cfg.model} left no result")
    rows = [
        _row(modes[n], r, base) if r is not None else _missing(modes[n])
        for n, r in results.items()
        if n != TWIN
    ]
    rates = {
        n: {c.round: c.steps * cfg.batch_size / c.seconds for c in r.chunks if c.seconds > 0}
        for n, r in results.items()
        if r is not None
    }
    summary = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "backend": cfg.backend,
        "model": cfg.model,
        "base_config": asdict(cfg),
        "modes": rows,
        **summarise_sweep(rows, rates, cfg.backend, cfg.device),
    }
    return summary, {"schedule": schedule, "turns": [asdict(t) for t in turns]}


def write_sweep(run_dir: Path, sweep: dict) -> Path:
    return write_json(run_dir / f"sweep-{sweep['backend']}-{slug(sweep['model'])}.json", sweep)
