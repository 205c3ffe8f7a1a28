"""``versions``: the suite across Keras and framework releases, each release's workers in
the same rounds as the others, and the steps between neighbouring releases flagged
where the data say so. The flags become one ``VersionsSettings`` (``settings``);
``suite.jobs.versions.run_versions`` does the rest."""

from __future__ import annotations

import time
from pathlib import Path

from suite.commands import args as shared
from suite.commands.args import log
from suite.core.environments import AXES, TORCH_CPU, version_sets
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS
from suite.measure.compare import CompareSettings

NAME = "versions"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="the suite across Keras and framework releases, steps between them flagged",
        description="Trains the matrix once per version set (one pinned release of Keras "
        "or a framework, everything else as installed here), every set's workers in the "
        "same rounds, two worker processes each, so each release-to-release ratio is "
        "paired by round with the worker process inside its interval. Each set's "
        "environment is a venv made once (pip installs only what the pin changes) and "
        "reused, kept under --envs by a hash of its pin. A release that does not "
        "install or import is reported with its reason; the others go on. A step is "
        "flagged only where its interval lies beyond the A/A control's. Exit codes: 0 "
        "every set ran and no step got slower, lower or larger; 1 otherwise (the last "
        "line says which); 2 bad input.",
    )
    for axis, dist in AXES.items():
        extra = ""
        if axis == "torch":
            extra = f"; only {TORCH_CPU} has a CPU wheel here, others are skipped"
        p.add_argument(
            f"--{axis}",
            nargs="+",
            default=[],
            metavar="V",
            help=f"{dist} releases to compare, e.g. a release and its predecessor; the "
            f"same release twice is an A/A step{extra} (default: none)",
        )
    shared.add(p, "backends", "models")
    shared.add(
        p,
        "seeds",
        help="seeds, one cell each per set; test accuracy is compared paired by seed, "
        "which needs 2 or more (default: 0)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="1 epoch, seed 0, the heavy workloads on a slice: minutes (default: the "
        "recipes' epochs)",
    )
    p.add_argument("--epochs", type=int, help="epochs of every model (default: the recipes')")
    shared.add(p, "train_examples")
    shared.add_out(p, "results/versions")
    p.add_argument(
        "--envs",
        metavar="DIR",
        help="where the environments are made and reused (default: the suite's cache "
        "folder, ~/.cache/keras-backend-suite or $SUITE_CACHE_DIR)",
    )
    p.add_argument(
        "--bisect",
        action="store_true",
        help="then, for each step whose training got slower, try the index's releases "
        "between its two in halves (each try the three side by side on that backend and "
        "workload, into OUT/bisect) and name the first release with the step (default: off)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="train every cell again even if its result exists (default: off)",
    )
    p.set_defaults(func=handle)


def settings(args):
    """The one ``VersionsSettings`` of these flags; SuiteError names the first bad one,
    before anything is made or started."""
    from suite.core.data import cache_dir
    from suite.core.files import check_writable
    from suite.measure.versions import VersionsSettings

    axes = {axis: getattr(args, axis) for axis in AXES if getattr(args, axis)}
    _check(args, axes)
    matrix = CompareSettings(
        backends=tuple(args.backends), models=tuple(args.models), seeds=tuple(args.seeds),
        quick=args.quick, epochs=args.epochs, out=check_writable(args.out),
        force=args.force, train_examples=args.train_examples,
    )  # fmt: skip
    envs = Path(args.envs) if args.envs else cache_dir()
    return VersionsSettings(matrix, tuple(version_sets(axes)), envs, args.bisect)


def _check(args, axes: dict) -> None:
    from packaging.version import InvalidVersion, Version

    if not axes:
        raise SuiteError("versions: give the releases to compare, e.g. --keras 3.14.1 3.15.1")
    for axis, given in axes.items():
        for v in given:
            try:
                Version(v)
            except InvalidVersion:
                raise SuiteError(f"--{axis} {v}: not a release number") from None
    if sum(len(v) for v in axes.values()) < 2:
        flag = next(iter(axes))
        raise SuiteError(f"--{flag} {axes[flag][0]}: give at least 2 releases to compare")
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_models(args.models)
    shared.check_seeds(args.seeds)
    shared.check_train_examples(args.train_examples)
    if args.epochs is not None and not 1 <= args.epochs <= 1000:
        raise SuiteError(f"--epochs {args.epochs}: must be 1..1000")
    for axis in axes:
        if axis != "keras" and axis not in args.backends:
            raise SuiteError(
                f"--{axis} with --backends {' '.join(args.backends)}: a {axis} release is "
                f"compared on the {axis} backend; add it to --backends"
            )


def handle(args) -> int:
    from suite.jobs.versions import run_versions
    from suite.report.terminal import format_table
    from suite.report.versions import STEP_HEADERS, step_table_rows

    s = settings(args)
    started = time.perf_counter()
    shared.load_data(None)  # once here; the workers read the cache
    reasons, report = run_versions(s, log)
    for d in report.get("devices", []):
        steps = (d.get("versions") or {}).get("steps", [])
        if steps:
            print(d["title"])
            print(format_table(STEP_HEADERS, step_table_rows(steps)))
    minutes, seconds = divmod(int(time.perf_counter() - started), 60)
    where = s.matrix.out / "report" / "report.html"
    log(f"versions done in {minutes}:{seconds:02d}; report: {where}")
    if reasons:
        log(f"exit 1: {'; '.join(reasons)}")
    return 1 if reasons else 0
