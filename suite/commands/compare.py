"""``compare``, the main job: every backend x model x seed in rounds, the gradient
check, weights across backends, then the report. The flags become one
``CompareSettings``, checked once (``settings``); ``suite.jobs.compare.run_compare``
runs the matrix (``suite.measure``), the checks (``suite.checks``) and the report
(``suite.report``) in turn from it, never from the flags."""

from __future__ import annotations

import os
import time
from pathlib import Path

from suite.commands import args as shared
from suite.commands.args import at_least, log
from suite.core.config import DEVICES, DTYPE_POLICIES
from suite.core.data import TEST_IMAGES
from suite.core.datasets import is_dataset
from suite.core.errors import SuiteError
from suite.core.memory import parse_size
from suite.core.platform import BACKENDS
from suite.measure.compare import BATCH_STEPS, PROCESSES, CompareSettings
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
    shared.add(
        p,
        "seeds",
        default=[0, 1, 2],
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
        "--batch-sizes",
        nargs="+",
        type=at_least(1, "--batch-sizes", "example per batch"),
        default=None,
        metavar="B",
        help="speed across batch sizes instead of the recipes: each batch size a "
        f"participant of its own per backend in the same rounds, {BATCH_STEPS} optimizer "
        "steps each (or a little more), float32 on one device; the report shows the "
        "winner per batch size and where it flips; accuracy is not judged across batch "
        "sizes (default: off, each recipe's batch)",
    )
    p.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="with --batch-sizes: also the largest batch that fits in SIZE (e.g. 8GiB), "
        "per backend and model, doubling from the largest size given, each attempt a "
        "fresh process; an out-of-memory is a recorded result (default: on a GPU its "
        "own memory, on a CPU off)",
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
    """The one ``CompareSettings`` of these flags, each checked (--out as typed: an empty
    one is refused): SuiteError names the first bad one; nothing is created or started."""
    from suite.core.files import check_writable

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
        out=check_writable(args.out), force=args.force,
        train_examples=sizes.get("train_examples", args.train_examples),
        test_examples=sizes.get("test_examples", TEST_IMAGES),
        chunk_steps=args.chunk_steps, devices=args.devices,
        data=None if dataset else args.data, dataset=dataset,
        inference_rounds=args.inference_rounds, dtype_policy=args.dtype_policy,
        tuned=args.tuned, sweeps=sweeps, processes=args.processes,
        repeats=repeats(args.repeat, args.gap, args.precision, args.max_time),
        batch_sizes=tuple(args.batch_sizes or ()),
        memory_limit=parse_size(args.memory_limit) if args.memory_limit else None,
    )  # fmt: skip


def _check(args) -> None:
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_models(args.models)
    shared.check_seeds(args.seeds)
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
    if args.batch_sizes:
        _check_batch_sizes(args)
    elif args.memory_limit:
        raise SuiteError(f"--memory-limit {args.memory_limit}: give --batch-sizes too")
    if args.hosts != 1:
        raise SuiteError(
            f"--hosts {args.hosts}: compare's backends take turns and another host would "
            "train outside them; use `run --backend B --hosts H` per backend, then `report`"
        )


def _check_batch_sizes(args) -> None:
    """A batch sweep compares one thing: the batch size, in float32 on one device."""
    sizes = " ".join(map(str, args.batch_sizes))
    if len(set(args.batch_sizes)) != len(args.batch_sizes):
        raise SuiteError(f"--batch-sizes {sizes}: give each batch size once")
    if len(args.batch_sizes) < 2:
        raise SuiteError(f"--batch-sizes {sizes}: give at least 2 batch sizes to compare")
    big = max(args.batch_sizes)
    if big > args.train_examples:
        raise SuiteError(
            f"--batch-sizes {sizes}: {big} exceeds --train-examples {args.train_examples}"
        )
    for flag, on in (("--native", args.native), ("--tuned", args.tuned is not None),
                     (f"--dtype-policy {args.dtype_policy}", args.dtype_policy != "float32"),
                     (f"--devices {args.devices}", args.devices > 1)):  # fmt: skip
        if on:
            raise SuiteError(f"--batch-sizes with {flag}: a batch sweep compares batch sizes "
                             "alone (float32, Keras' fit(), one device)")  # fmt: skip


def handle(args) -> int:
    from suite.jobs.compare import run_compare
    from suite.report.render import terminal_summary

    s = settings(args)
    out = s.out
    started = time.perf_counter()
    mnist = shared.load_data(args.data, datasets=True)  # once here; the workers read the cache
    log(f"MNIST from {mnist.source}")
    if s.data:  # the checks' children read it from there too
        os.environ["SUITE_MNIST"] = s.data
    reasons, report = run_compare(s, out, log)
    print(terminal_summary(report))
    minutes, seconds = divmod(int(time.perf_counter() - started), 60)
    log(f"compare done in {minutes}:{seconds:02d}; report: {out / 'report' / 'report.html'}")
    if reasons:  # exit code 1, and why, as the last line
        log(f"exit 1: {'; '.join(reasons)}")
    return 1 if reasons else 0
