"""``compare``, the main job: every backend x model x seed in rounds, the gradient
check, weights across backends, then the report. The flags become one
``CompareSettings``, checked once (``settings``); ``run_compare`` calls the matrix
(``suite.measure``), the checks (``suite.checks``) and the report (``suite.report``) in
turn, each a library call that takes the settings or their parts, never the flags."""

from __future__ import annotations

import os
import time
from pathlib import Path

from suite.commands import args as shared
from suite.commands import grads
from suite.commands.args import at_least, log
from suite.core.config import DEVICES, DTYPE_POLICIES, SEED_LIMIT
from suite.core.data import TEST_IMAGES
from suite.core.datasets import is_dataset
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS
from suite.measure.compare import PROCESSES, CompareSettings
from suite.measure.repeats import MAX_TIME_S, MIN_RUNS, RUN_GAP_S, repeats

NAME = "compare"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="the main job: every backend x model x seed, the gradient check, and the report",
        description="Runs the matrix (one long-lived worker per backend; the backends "
        "train each model and seed side by side, a chunk each per round), then the "
        "gradient check, then writes the report into OUT/report. "
        "Resumable: cells whose result already exists in OUT are skipped unless --force. A "
        "failed cell is recorded and the rest go on. Ctrl-C stops cleanly, finished "
        "cells kept. Exit codes: 0 every cell ran and every check passed; 1 a cell "
        "failed or a check found a real difference (the last line says which); 2 bad "
        "input; 130 interrupted.",
    )
    shared.add(p, "backends", "models")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        metavar="S",
        help="seeds for initial weights, batch order and dropout, one cell each; --quick "
        "uses 0 only (default: 0 1 2)",
    )
    shared.add(p, "device")
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch, 1 seed, 10 trajectory steps: a smoke run in minutes "
        "(default: off, the registry recipes)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        help="epochs of every model, also with --quick: more timed work narrows the "
        "speed CIs (about as 1/sqrt(epochs); see docs/methodology.md) (default: the "
        "recipes', or 1 with --quick)",
    )
    p.add_argument(
        "--native",
        action="store_true",
        help="also train each backend's native implementation in the same rounds, "
        "for Keras ÷ native with a paired CI (default: off)",
    )
    shared.add_out(p, "results/compare")
    p.add_argument(
        "--force",
        action="store_true",
        help="run every cell again even if its result exists (default: off)",
    )
    shared.add(p, "train_examples", "chunk_steps", "devices", "data", "inference_rounds")
    shared.add(
        p,
        "dtype_policy",
        help="float32, mixed_bfloat16 or mixed_float16: with a mixed policy each backend "
        "trains in it AND in float32, side by side in the same rounds, for the mixed ÷ "
        "float32 throughput per backend with a paired CI and the accuracy difference "
        "paired by seed (default: float32 only)",
    )
    p.add_argument(
        "--tuned",
        nargs="?",
        const="",
        default=None,
        metavar="FROM_DIR",
        help="also train each backend in its best Keras mode (jit, steps_per_execution, "
        "data format) beside its defaults, in the same rounds, for both rankings: the "
        "modes come from the sweep results (sweep-*.json) in FROM_DIR, or, with --tuned "
        "alone, from a short sweep per backend and model run first into OUT/tuning "
        "(default: off, Keras' defaults only)",
    )
    shared.add(
        p,
        "hosts",
        help="only 1 here: compare's backends take turns, and another host's process "
        "would train outside the turns; train over hosts with `run --backend B --hosts H` "
        "per backend and `report` their folders together (default: 1)",
    )
    p.add_argument(
        "--processes",
        type=at_least(1, "--processes", "process"),
        default=PROCESSES,
        metavar="N",
        help="worker processes per participant, each training every cell in the same "
        "rounds: with 2 or more the process is inside every interval and each participant "
        "has an A/A control (its processes' ratio, which should be 1); 1 halves the "
        f"training time and measures neither (default: {PROCESSES})",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the matrix N times as independent runs (fresh workers, --gap apart), "
        "so that every interval has runs as its units and a rerun's prediction "
        "interval is shown; 3 or more for that (default: 1)",
    )
    p.add_argument(
        "--gap",
        type=float,
        default=RUN_GAP_S,
        metavar="SECONDS",
        help="idle pause between repeated runs, so they sample different phases of the "
        f"machine (default: {RUN_GAP_S:g})",
    )
    p.add_argument(
        "--precision",
        type=float,
        metavar="P",
        help=f"add runs ({MIN_RUNS} at least) until every ranked time ratio's 95%% "
        "interval, runs as units, is within ±P (e.g. 0.05), or --max-time is spent "
        "(default: off)",
    )
    p.add_argument(
        "--max-time",
        metavar="T",
        help="with --precision: the matrix runs' time limit, e.g. 20m, 1h, 900s; no run "
        "starts that would end past it at the mean run's length "
        f"(default: {MAX_TIME_S // 60}m)",
    )
    p.set_defaults(func=handle)


def settings(args) -> CompareSettings:
    """The one ``CompareSettings`` of these flags, each checked: SuiteError names the
    first bad one; nothing is created or started."""
    _check(args)
    sweeps = ()
    if args.tuned:  # a folder: its sweeps are read now, so a bad one stops before anything
        from suite.measure.tuned import read_sweeps

        sweeps = tuple(read_sweeps(Path(args.tuned)))
    dataset = args.data if is_dataset(args.data) else None
    sizes = shared.dataset_settings(dataset, args.models, args.train_examples)
    return CompareSettings(
        backends=tuple(args.backends), models=tuple(args.models), seeds=tuple(args.seeds),
        device=args.device, quick=args.quick, epochs=args.epochs, native=args.native,
        out=Path(args.out), force=args.force,
        train_examples=sizes.get("train_examples", args.train_examples),
        test_examples=sizes.get("test_examples", TEST_IMAGES),
        chunk_steps=args.chunk_steps, devices=args.devices,
        data=None if dataset else args.data, dataset=dataset,
        inference_rounds=args.inference_rounds, dtype_policy=args.dtype_policy,
        tuned=args.tuned, sweeps=sweeps, processes=args.processes,
        repeats=repeats(args.repeat, args.gap, args.precision, args.max_time),
    )  # fmt: skip


def _check(args) -> None:
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_models(args.models)
    shared.check_seeds(args.seeds)
    bad = [s for s in args.seeds if not 0 <= s < SEED_LIMIT]
    if bad:
        raise SuiteError(f"--seeds {bad[0]}: a seed must be 0..{SEED_LIMIT - 1}")
    if args.device not in DEVICES:
        raise SuiteError(f"--device {args.device!r} is not one of {', '.join(DEVICES)}")
    shared.check_train_examples(args.train_examples)
    if args.dtype_policy not in DTYPE_POLICIES:
        raise SuiteError(
            f"--dtype-policy {args.dtype_policy!r} is not one of {', '.join(DTYPE_POLICIES)}"
        )
    if args.dtype_policy != "float32" and args.native:
        raise SuiteError(
            f"--dtype-policy {args.dtype_policy} with --native: the native implementations "
            "train in float32 only"
        )
    if args.dtype_policy != "float32" and args.devices > 1:
        raise SuiteError(
            f"--dtype-policy {args.dtype_policy} with --devices {args.devices}: torch's DDP "
            "loop trains in float32 only; compare policies on one device"
        )
    if args.inference_rounds < 0:
        raise SuiteError(f"--inference-rounds must not be negative, got {args.inference_rounds}")
    if args.epochs is not None and not 1 <= args.epochs <= 1000:
        raise SuiteError(f"--epochs {args.epochs}: must be 1..1000")
    if args.hosts != 1:
        raise SuiteError(
            f"--hosts {args.hosts}: compare's backends take turns and another host would "
            "train outside them; use `run --backend B --hosts H` per backend, then `report`"
        )


def handle(args) -> int:
    from suite.core.files import check_writable
    from suite.report.render import terminal_summary

    s = settings(args)
    out = check_writable(s.out)
    started = time.perf_counter()
    mnist = shared.load_data(args.data, datasets=True)  # once here; the workers read the cache
    log(f"MNIST from {mnist.source}")
    if s.data:  # the checks' children read it from there too
        os.environ["SUITE_MNIST"] = s.data
    reasons, report = run_compare(s, out)
    print(terminal_summary(report))
    minutes, seconds = divmod(int(time.perf_counter() - started), 60)
    log(f"compare done in {minutes}:{seconds:02d}; report: {out / 'report' / 'report.html'}")
    if reasons:  # exit code 1, and why, as the last line
        log(f"exit 1: {'; '.join(reasons)}")
    return 1 if reasons else 0


def run_compare(s: CompareSettings, out: Path) -> tuple[list[str], dict]:
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
        cells += _tuned(s, cells, out, env)

    def train(r: int) -> list[str]:
        return run_matrix(
            backends, repeated(cells, r), out, s.force, s.data, env, log, processes=s.processes
        )

    def unmet() -> list[dict]:
        from suite.report.reruns import unmet as wider

        return wider([d["speed"] for d in build_report([out])["devices"]], s.repeats.precision)

    bad = run_repeats(s.repeats, train, unmet, out, log)
    reasons = [f"{len(bad)} cell(s) failed: {', '.join(bad)}"] if bad else []
    if not s.dataset:  # the gradient check is on MNIST batches
        reasons += _grads(backends, s, out, prepared)
    else:
        log(f"grads: checks MNIST batches, not --data {s.dataset}; skipped")
    # --quick stays a few minutes: portability there covers only the models a user
    # brings (their weights have to move between backends by structure, not by name)
    moved = [m for m in s.models if m in prepared] if s.quick else list(s.models)
    if moved and not s.dataset and _portability(backends, moved, out, s.data, prepared):
        reasons.append("portability: weights moved across backends predict differently")
    report = build_report([out])
    paths = write_files(report, out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    return reasons, report


def _tuned(s: CompareSettings, cells: list, out: Path, env: dict) -> list:
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


def _grads(backends, s: CompareSettings, out: Path, prepared: dict) -> list[str]:
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
    steps = QUICK["grads_steps"] if s.quick else grads.STEPS
    log(f"grads: {', '.join(backends)}, {steps} trajectory steps")
    policy = s.dtype_policy
    dtypes = [*grads.DTYPES, *([policy] if policy in grads.CHOICES[len(grads.DTYPES) :] else [])]
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


def _portability(backends, models, out: Path, data: str | None, prepared: dict) -> bool:
    """Weights across backends into ``out/portability``; True if it failed."""
    from suite.checks.portability.run import check_portability
    from suite.commands.portability import TRAIN_EXAMPLES
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
