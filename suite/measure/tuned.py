"""Each backend at its best (``compare --tuned``): the fastest Keras mode per backend and
model, from sweep results given or from short sweeps run first, trained as a participant
of its own beside the defaults in the same rounds.

A sweep's ``best_keras`` is the fastest Keras mode that still trains correctly (its
first loss and accuracy held to the default mode's, ``suite.measure.sweep``). Where the
default itself is best, the backend's tuned cells are its default cells.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from suite.core.config import RunConfig, same_as_default, validate
from suite.core.errors import SuiteError
from suite.core.files import new_run_dir, read_json
from suite.core.schemas import SWEEP, check_shape
from suite.measure.sweep import mode_label, run_sweep, write_sweep
from suite.rounds.coordinator import TURN_GAP_S, write_rounds

SHORT_EXAMPLES = 12_800  # a short sweep's training images per mode, 1 epoch


def read_sweeps(folder: Path, flag: str = "--tuned") -> list[dict]:
    """Every valid sweep file below ``folder``, oldest first; SuiteError when none."""
    if not folder.is_dir():
        raise SuiteError(f"{flag} {folder}: no such folder")
    found = []
    for path in sorted(folder.rglob("sweep-*.json")):
        try:
            data = read_json(path)
            if isinstance(data, dict) and data.get("schema") == SWEEP:
                found.append(check_shape(path, data))
        except SuiteError:
            continue
    if not found:
        raise SuiteError(
            f"{flag} {folder}: no sweep results (sweep-*.json) there; run `python -m suite "
            "sweep --out DIR` first, or give --tuned alone for a short sweep"
        )
    return found


def best_modes(sweeps: list[dict]) -> dict[tuple[str, str], tuple[str, dict]]:
    """(backend, model) -> (mode label, its settings) of the newest sweep's best Keras
    mode; the default mode is ("default", {}). A sweep that found no working mode is
    left out."""
    out = {}
    for s in sweeps:  # later files replace earlier ones
        label = s.get("best_keras")
        row = next((m for m in s["modes"] if m["mode"] == label), None)
        if label is None or row is None:
            continue
        settings = {k: v for k, v in (row.get("settings") or {}).items() if k != "impl"}
        if same_as_default(s["backend"], s.get("device", "cpu"), settings):
            settings = {}  # resolved, the default itself: no twin, and called the default
        out[(s["backend"], s["model"])] = (mode_label(settings), settings)
    return out


def tuned_cells(cells: list[RunConfig], best: dict) -> list[RunConfig]:
    """A tuned twin of every default cell (Keras, one device, float32) whose backend's
    best mode for its model is not the default."""
    out = []
    for c in cells:
        if c.impl != "keras" or c.devices != 1 or c.dtype_policy != "float32" or c.tuned:
            continue
        label, settings = best.get((c.backend, c.model), ("default", {}))
        if settings:
            out.append(validate(replace(c, **settings, tuned=label), check_install=False))
    return out


def short_sweeps(cells: list[RunConfig], out: Path, data, env, log) -> list[dict]:
    """One short sweep (Keras modes, 1 epoch on the first ``SHORT_EXAMPLES`` images) per
    backend and model of ``cells``, into a new folder under ``out/tuning``."""
    run_dir = new_run_dir(out / "tuning")
    firsts = {}
    for c in cells:
        if c.impl == "keras" and c.devices == 1 and c.dtype_policy == "float32":
            firsts.setdefault((c.backend, c.model), c)
    sweeps, schedules = [], []
    try:
        for c in firsts.values():
            cfg = validate(
                replace(c, seed=0, epochs=1, train_examples=min(c.train_examples, SHORT_EXAMPLES),
                        inference_rounds=0, chunk_steps=0),
                check_install=False,
            )  # fmt: skip
            sweep, schedule = run_sweep(cfg, run_dir, data, env, log, keras_only=True)
            write_sweep(run_dir, sweep)
            log(f"  best {c.backend} {c.model} mode: {sweep['best_keras']}")
            sweeps.append(sweep)
            schedules.append(schedule)
    finally:
        if schedules:
            write_rounds(run_dir, schedules, TURN_GAP_S)
    return sweeps
