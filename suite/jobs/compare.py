"""``compare``, the main job: the matrix of every backend x model x seed in rounds
(``suite.measure``), the gradient check and weights across backends (``suite.checks``),
then the report (``suite.report``), each skipped where an earlier result is in OUT."""

from __future__ import annotations

from pathlib import Path

from suite.checks.grads.run import CHOICES as GRADS_CHOICES
from suite.checks.grads.run import DTYPES as GRADS_DTYPES
from suite.checks.grads.run import STEPS as GRADS_STEPS
from suite.core.errors import SuiteError
from suite.measure.compare import CompareSettings


def run_compare(s: CompareSettings, out: Path, log) -> tuple[list[str], dict]:
    """The matrix, then grads and portability (with --quick: brought models only), each
    skipped when an earlier result is in ``out``, then the report. Returns what failed (one
    line each; empty: exit 0) and the report."""
    from suite.core.platform import child_env, is_installed
    from suite.measure.compare import plan_cells, run_matrix
    from suite.measure.repeats import repeated, run_repeats
    from suite.report.build import build_report
    from suite.report.render import write_files
    from suite.training import brought

    backends = [b for b in s.backends if is_installed(b)]
    for b in s.backends:
        if b not in backends:
            log(f"{b} is not installed: skipped (pip install '.[{b}]')")
    if not backends:
        raise SuiteError("none of the requested backends is installed; pip install '.[cpu]'")
    cells = plan_cells(s, backends)
    # a brought model is built and checked once, its weights saved, before any worker
    weights_seeds = sorted({*s.run_seeds, 0})  # 0: the gradient check's
    prepared = brought.brought_models(
        list(s.models), weights_seeds, backends[0], out, dataset=s.dataset, log=log
    )
    cells = brought.with_brought(cells, prepared)
    env = child_env(SUITE_MNIST=s.data) if s.data else child_env()
    if s.tuned is not None:
        cells += _tuned(s, cells, out, env, log)

    def train(r: int) -> list[str]:
        return run_matrix(
            backends, repeated(cells, r), out, s.force, s.data, env, log, processes=s.processes
        )

    def unmet() -> list[dict]:
        from suite.report.reruns import unmet as wider

        return wider([d["speed"] for d in build_report([out])["devices"]], s.repeats.precision)

    bad = run_repeats(s.repeats, train, unmet, out, log)
    reasons = [f"{len(bad)} cell(s) failed: {', '.join(bad)}"] if bad else []
    if s.batch_sizes and (s.memory_limit or s.device == "gpu"):
        reasons += _largest_batches(backends, s, out, log)
    if s.batch_sizes:  # speed only: the checks are about the backends, not the batch
        log("grads and portability: not part of a batch sweep; skipped")
    elif not s.dataset:  # the gradient check is on MNIST batches
        reasons += _grads(backends, s, out, prepared, log)
    else:
        log(f"grads: checks MNIST batches, not --data {s.dataset}; skipped")
    # --quick stays a few minutes: portability there covers only the models a user
    # brings (their weights have to move between backends by structure, not by name)
    moved = [m for m in s.models if m in prepared] if s.quick else list(s.models)
    moved = [] if s.batch_sizes else moved
    if moved and not s.dataset and _portability(backends, moved, out, s.data, prepared, log):
        reasons.append("portability: weights moved across backends predict differently")
    report = build_report([out])
    paths = write_files(report, out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    return reasons, report


def _largest_batches(backends, s: CompareSettings, out: Path, log) -> list[str]:
    """The largest batch that fits per backend and model, doubling from the largest
    swept size, into ``out/fits``; what failed other than by running out of memory."""
    from suite.core.files import new_json_path, utc_stamp, write_json
    from suite.core.memory import fits_words
    from suite.core.schemas import FITS, FITS_VERSION
    from suite.measure.fits import STEPS, largest_batch

    folder = out / "fits"
    if any(folder.glob("fits-*.json")):
        log("largest batch: an earlier result is in this folder; skipped")
        return []
    limit = s.memory_limit or 2**62  # a GPU without --memory-limit: its own memory
    rows, failed = [], []
    for m in s.models:
        for b in backends:
            try:
                row = largest_batch(b, m, s.device, max(s.batch_sizes), limit, log)
            except SuiteError as e:  # not an out-of-memory: said, the others go on
                failed.append(str(e))
                continue
            rows.append(row)
            log(f"  largest batch that fits: {m} on {b}: {fits_words(row)}")
    if rows:
        blob = {"schema": FITS, "schema_version": FITS_VERSION, "created": utc_stamp(),
                "limit_bytes": s.memory_limit, "steps": STEPS, "rows": rows}  # fmt: skip
        log(f"wrote {write_json(new_json_path(folder, 'fits'), blob)}")
    return [f"largest batch: {f}" for f in failed]


def _tuned(s: CompareSettings, cells: list, out: Path, env: dict, log) -> list:
    """The tuned cells: each backend's best Keras mode per model, from the sweeps of
    --tuned FROM_DIR (copied into OUT/tuning, so the report is made from OUT alone), from
    an earlier short sweep in OUT/tuning (resume), or from short sweeps run now."""
    from suite.core.files import new_run_dir
    from suite.measure.sweep import write_sweep
    from suite.measure.tuned import best_modes, read_sweeps, short_sweeps, tuned_cells

    tuning = out / "tuning"
    if s.tuned:  # the newest sweep per backend and model
        sweeps = list({(w["backend"], w["model"]): w for w in s.sweeps}.values())
        run_dir = new_run_dir(tuning)
        for w in sweeps:
            write_sweep(run_dir, w)
        log(f"tuned modes from {len(sweeps)} sweep(s) in {s.tuned}")
    elif tuning.is_dir() and any(tuning.rglob("sweep-*.json")):
        sweeps = read_sweeps(tuning)
        log(f"tuned modes from the earlier short sweeps in {tuning}")
    else:
        log("short sweeps first: each backend's Keras modes, 1 epoch on a slice, in rounds")
        sweeps = short_sweeps(cells, out, s.data, env, log)
    best = best_modes(sweeps)
    extra = tuned_cells(cells, best)
    for (b, m), (label, _) in sorted(best.items()):
        log(f"  {b} {m}: best mode {label}")
    log(f"tuned: {len(extra)} cells beside the defaults")
    return extra


def _grads(backends, s: CompareSettings, out: Path, prepared: dict, log) -> list[str]:
    """The gradient check into ``out/grads`` (also under the run's dtype policy when it is
    a mixed one the check judges: mixed_bfloat16); what failed, one line each."""
    from suite.checks.grads.run import check_gradients
    from suite.core.schemas import grads_failures
    from suite.measure.compare import QUICK
    from suite.report.grads import format_report

    folder = out / "grads"
    if any(folder.glob("grads-*.json")):
        log("grads: an earlier result is in this folder; skipped")
        return []
    steps = QUICK["grads_steps"] if s.quick else GRADS_STEPS
    log(f"grads: {', '.join(backends)}, {steps} trajectory steps")
    policy = s.dtype_policy
    dtypes = [*GRADS_DTYPES, *([policy] if policy in GRADS_CHOICES[len(GRADS_DTYPES) :] else [])]
    try:
        report, path = check_gradients(
            list(s.models), backends, dtypes, steps, 256, 0, 0, folder, prepared, log
        )
    except Exception as e:  # the check fails; the matrix's results still get their report
        log(f"grads failed: {type(e).__name__}: {e}")
        return [f"gradient check did not run: {type(e).__name__}: {e}"]
    log(format_report(report))
    log(f"wrote {path}")
    return [f"gradients differ: {line}" for line in grads_failures(report)]


def _portability(backends, models, out: Path, data: str | None, prepared: dict, log) -> bool:
    """Weights across backends into ``out/portability``; True if it failed."""
    from suite.checks.portability.run import TRAIN_EXAMPLES, check_portability
    from suite.core.schemas import transfers_pass
    from suite.report.tables import transfer_table
    from suite.report.terminal import format_table

    folder = out / "portability"
    if any(folder.glob("portability-*.json")) or len(backends) < 2:
        log("portability: an earlier result is in this folder, or one backend; skipped")
        return False
    log(f"portability: weights saved and loaded across {', '.join(backends)}")
    try:
        path, rows = check_portability(
            models, backends, folder, data, TRAIN_EXAMPLES, prepared, log
        )
    except Exception as e:  # as for grads: recorded as a failure, the report still comes
        log(f"portability failed: {type(e).__name__}: {e}")
        return True
    log(format_table(*transfer_table(rows)))
    log(f"wrote {path}")
    return not transfers_pass(rows)
