"""The main job: the backend x model x seed matrix, the gradient check, the report.

Each backend trains in its own child process (``python -m suite run``), so Keras
picks the backend once per process. Cells whose ok result already exists in the
output folder are skipped (resume) unless ``force``; a failed cell is recorded
and the rest go on; Ctrl-C stops cleanly with finished cells kept.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from models import MODELS
from suite.backends import child_env, is_installed
from suite.config import RunConfig, validate
from suite.errors import SuiteError
from suite.results import load_result

QUICK = {"epochs": 1, "seeds": 1, "grads_steps": 10}


def plan_cells(
    backends, models, seeds, device, quick, train_examples: int = 60000
) -> list[RunConfig]:
    epochs = QUICK["epochs"] if quick else None
    return [
        validate(
            RunConfig(
                backend=b,
                model=m,
                seed=s,
                device=device,
                epochs=epochs,
                train_examples=train_examples,
            ),
            check_install=False,
        )
        for b in backends
        for m in models
        for s in seeds
    ]


def finished_cells(runs_dir: Path) -> dict[str, str]:
    """Cell name -> status of every readable result under ``runs_dir`` (ok wins)."""
    done: dict[str, str] = {}
    for path in runs_dir.rglob("*.json") if runs_dir.is_dir() else []:
        try:
            status = load_result(path)["status"]
        except SuiteError:
            continue
        if done.get(path.stem) != "ok":
            done[path.stem] = status
    return done


def pending(cells: list[RunConfig], done: dict[str, str], force: bool) -> list[RunConfig]:
    return [c for c in cells if force or done.get(c.cell_name()) != "ok"]


def child_batches(todo: list[RunConfig], models: list[str]) -> list[tuple[str, str, list[int]]]:
    """(backend, model or 'all', seeds) per child process: one per backend when every
    registry model needs the same seeds, else one per backend and model."""
    batches = []
    for b in dict.fromkeys(c.backend for c in todo):
        mine = [c for c in todo if c.backend == b]
        seeds = {m: sorted(c.seed for c in mine if c.model == m) for m in models}
        wanted = [m for m in models if seeds[m]]
        if wanted == list(MODELS) and len({tuple(s) for s in seeds.values()}) == 1:
            batches.append((b, "all", seeds[models[0]]))
        else:
            batches += [(b, m, seeds[m]) for m in wanted]
    return batches


def _fmt(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def run_compare(
    backends,
    models,
    seeds: int,
    device: str,
    quick: bool,
    out: Path,
    force: bool,
    data: str | None,
    log,
    train_examples: int = 60000,
) -> tuple[int, dict]:
    """Run what is missing, then grads and the report. Returns the exit code and the
    report's data."""
    from suite.report import build_report, write_files

    skipped = [b for b in backends if not is_installed(b)]
    backends = [b for b in backends if b not in skipped]
    for b in skipped:
        log(f"{b} is not installed: skipped (pip install '.[{b}]')")
    if not backends:
        raise SuiteError("none of the requested backends is installed; pip install '.[cpu]'")
    n_seeds = QUICK["seeds"] if quick else seeds
    cells = plan_cells(backends, models, list(range(n_seeds)), device, quick, train_examples)
    runs_dir = out / "runs"
    todo = pending(cells, finished_cells(runs_dir), force)
    log(
        f"compare: {len(cells)} cells ({len(cells) - len(todo)} already done) on "
        f"{', '.join(backends)}; results in {out}"
    )
    env = child_env(SUITE_MNIST=data) if data else child_env()
    started, done_cells = time.time(), 0
    for backend, model, seeds_ in child_batches(todo, models):
        n = len(seeds_) * (len(models) if model == "all" else 1)
        elapsed = time.time() - started
        eta = f", ETA {_fmt(elapsed / done_cells * (len(todo) - done_cells))}" if done_cells else ""
        log(
            f"[{done_cells + 1}-{done_cells + n}/{len(todo)}] {backend} {model} seeds "
            f"{' '.join(map(str, seeds_))} (elapsed {_fmt(elapsed)}{eta})"
        )
        cmd = [
            sys.executable,
            "-m",
            "suite",
            "run",
            "--backend",
            backend,
            "--model",
            model,
            "--device",
            device,
            "--out",
            str(runs_dir),
            "--seeds",
            *map(str, seeds_),
        ]
        if quick:
            cmd += ["--epochs", str(QUICK["epochs"])]
        if train_examples != 60000:
            cmd += ["--train-examples", str(train_examples)]
        code = subprocess.run(cmd, env=env, stdout=sys.stderr).returncode
        if code not in (0, 1):
            log(f"  {backend} {model}: child exited with {code}; its cells count as failed")
        done_cells += n
    after = finished_cells(runs_dir)
    bad = [c.cell_name() for c in cells if after.get(c.cell_name()) != "ok"]
    log(
        f"matrix done in {_fmt(time.time() - started)}: {len(cells) - len(bad)} ok, "
        f"{len(bad)} not ok"
    )
    grads_code = _run_grads(backends, models, quick, out, env, log)
    report = build_report([out])
    paths = write_files(report, out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    return (1 if bad or grads_code != 0 else 0), report


def _run_grads(backends, models, quick, out, env, log) -> int:
    grads_dir = out / "grads"
    if any(grads_dir.glob("grads-*.json")):
        log("grads: an earlier result is in this folder; skipped")
        return 0
    steps = QUICK["grads_steps"] if quick else 100
    log(f"grads: {', '.join(backends)}, {steps} trajectory steps")
    cmd = [
        sys.executable,
        "-m",
        "suite",
        "grads",
        "--backends",
        *backends,
        "--models",
        *models,
        "--steps",
        str(steps),
        "--out",
        str(grads_dir),
    ]
    return subprocess.run(cmd, env=env, stdout=sys.stderr).returncode
