"""Results grouped the way they may be compared: by device and machine, then by
backend, model, implementation and variant (every other setting), one run per seed."""

from __future__ import annotations

import numpy as np

from models import MODELS
from suite.core.config import variant_text as variant  # a result's RunConfig.variant()
from suite.core.stats import time_to_target


def target_of(run) -> float | None:
    """The model's target test accuracy: the registry's as it is now (targets are set
    from measured runs and may be revised after a run), else the one the run recorded
    (a brought model has none)."""
    model = run.config["model"]
    return MODELS[model].target_accuracy if model in MODELS else run.model.get("target_accuracy")


def time_to_target_of(run) -> float | None:
    """Training seconds until the run's test accuracy first reached ``target_of`` it,
    recomputed from its per-epoch history (so a revised target applies to old runs)."""
    target = target_of(run)
    if target is None or not run.history:
        return None
    seconds = [h.train_seconds for h in run.history]
    accuracy = [h.test_accuracy if h.test_accuracy is not None else -1 for h in run.history]
    return time_to_target(seconds, accuracy, target)[0]


def device_key(run: dict) -> str:
    """Results are only ranked against others from the same device and machine."""
    env = run.environment
    dev = env.get("device", {})
    return (
        f"{dev.get('kind', '?')}: {dev.get('name', '?')} on {env.get('cpu', '?')} "
        f"({env.get('cpu_cores_logical', '?')} cores, {env.get('hostname', '?')})"
    )


def unit_of(run) -> tuple[int, int]:
    """(seed, repetition): what identifies one training run within a cell group, and
    pairs it with the other backends' (``compare --repeat`` trains each seed again)."""
    return run.config["seed"], run.config.get("repeat", 0)


def accuracy_by_seed(runs) -> dict[int, float]:
    """seed -> final test accuracy, averaged over that seed's repetitions. Accuracy is
    paired and counted by seed: a repetition (``compare --repeat``) trains the same
    weights on the same batches again, so it is a new timing but not a new accuracy
    sample (counting it would narrow the interval with copies). Runs without an
    accuracy (synthetic data) are left out."""
    per: dict[int, list[float]] = {}
    for r in runs:
        if r.final_test_accuracy is not None:
            per.setdefault(r.config["seed"], []).append(r.final_test_accuracy)
    return {seed: float(np.mean(v)) for seed, v in sorted(per.items())}


def group(runs: list[dict]) -> dict[str, dict[tuple, list[dict]]]:
    """device key -> (backend, model, impl, variant) -> runs, one per seed, repetition
    and worker process: a newer result for the same ones replaces an older (``--force``)."""
    groups: dict[str, dict[tuple, dict[int, dict]]] = {}
    for r in sorted(runs, key=lambda r: r.environment.get("timestamp", "")):
        c = r.config
        key = (c["backend"], c["model"], c.get("impl", "keras"), variant(c))
        unit = (*unit_of(r), process_of(r))
        groups.setdefault(device_key(r), {}).setdefault(key, {})[unit] = r
    return {d: {k: list(v.values()) for k, v in cells.items()} for d, cells in groups.items()}


def process_of(run) -> int:
    """Which of its participant's worker processes trained a run: 0 the first, 1 or more
    an A/A twin (the same program in another process, ``compare --processes``)."""
    return run.config.get("process", 0)


def model_groups(cells: dict[tuple, list[dict]], impl: str = "keras") -> list[tuple[str, str]]:
    """(model, variant) pairs present, in registry order."""
    keys = {(m, v) for (_, m, i, v) in cells if i == impl}
    return sorted(keys, key=lambda k: (model_order(k[0]), k[1]))


def ok_runs(runs: list) -> list:
    """The ok runs of a cell group's first processes: what every table counts. A twin
    (``process_of`` > 0) repeats its first process's run, so it is no seed of its own;
    it enters only the A/A control and the process variance (``suite.report.aa``)."""
    return [r for r in runs if r.status == "ok" and not process_of(r)]


def round_throughputs(run: dict) -> dict[tuple, float]:
    """(schedule, round) -> examples/s of that chunk, for chunks trained in rounds."""
    batch = run.config["batch_size"]
    return {
        (run.schedule, c.round): c.steps * batch / c.seconds
        for c in run.chunks
        if c.round is not None and c.seconds > 0
    }


def cells_for(cells, model, var, impl="keras") -> dict[str, list]:
    return {
        b: ok_runs(runs)
        for (b, m, i, v), runs in cells.items()
        if m == model and v == var and i == impl and ok_runs(runs)
    }


def geomean(values) -> float:
    """The geometric mean: how the report averages rates over runs."""
    return float(np.exp(np.mean(np.log(np.asarray(values, np.float64)))))


def median_or_none(values, scale: float = 1.0):
    v = [x for x in values if x is not None]
    return float(np.median(v)) * scale if v else None


def train_flops(model: str) -> int | None:
    """Training FLOPs per example from the registry (None for a model not in it: a
    brought model's are not counted)."""
    return MODELS[model].train_flops_per_example if model in MODELS else None


def model_order(model: str) -> int:
    """Registry order, models not in the registry last."""
    names = list(MODELS)
    return names.index(model) if model in names else len(names)
