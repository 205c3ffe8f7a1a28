"""``startup``: from a fresh process to the end of the first training step, cold and warm,
per backend and workload, and when the faster-stepping backend has caught up."""

from __future__ import annotations

from suite.commands import args as shared
from suite.commands.args import at_least, log
from suite.core.platform import BACKENDS
from suite.measure.startup import STEADY_STEPS, WHATS

NAME = "startup"
REPEATS = 3


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="start-up: the first training step from a fresh process, cold and warm",
        description="Per backend and workload, the time from a fresh process to the end of "
        "the first training step (import, build and compile, the first step), with an "
        "empty compilation cache (cold) and with each framework's persistent cache filled "
        "(warm), in fresh processes one at a time, alternating; then when the backend "
        "with the shortest step has done as many steps as the one that started first "
        "(the catch-up point, or never within one epoch). Writes one startup-*.json into "
        "--out; `report` shows it. Exit codes: 0 done; 1 an attempt failed (the last "
        "line says which); 2 bad input.",
    )
    shared.add(p, "backends", "models")
    p.add_argument(
        "--repeats",
        type=at_least(1, "--repeats", "repeat"),
        default=REPEATS,
        metavar="R",
        help=f"fresh processes per backend, workload and cache; the units of every "
        f"interval (default: {REPEATS})",
    )
    p.add_argument(
        "--steps",
        type=at_least(1, "--steps", "step"),
        default=STEADY_STEPS,
        metavar="K",
        help=f"steps after the first, each timed, for the steady step (default: {STEADY_STEPS})",
    )
    p.add_argument(
        "--what",
        nargs="+",
        default=list(WHATS),
        metavar="W",
        help="train (the first training step) and/or predict (the first predict() of "
        f"1,024 test images) (default: {' '.join(WHATS)})",
    )
    shared.add_out(p, "results/startup")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from models import MODELS
    from suite.core.errors import SuiteError
    from suite.core.files import check_writable
    from suite.core.platform import installed_backends
    from suite.measure.startup import measure_startup
    from suite.report.terminal import format_table

    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_names("model", args.models, MODELS)
    shared.check_names("call", args.what, WHATS, "--what")
    out = check_writable(args.out)
    backends = [b for b in args.backends if b in installed_backends()]
    if not backends:
        raise SuiteError("none of the requested backends is installed; pip install '.[cpu]'")
    shared.load_data(None)  # once here: the attempts read the cache
    n = len(backends) * len(args.models) * len(args.what) * (2 * args.repeats + 1)
    log(f"startup: {n} fresh processes, one at a time")
    try:
        path = measure_startup(
            backends, args.models, args.repeats, out, log, args.steps, tuple(args.what)
        )
    except SuiteError as e:  # an attempt failed: not bad input
        log(f"exit 1: {e}")
        return 1
    from suite.core.files import read_json
    from suite.report.appendix import startup_section

    section = startup_section(read_json(path))
    for table in section.tables:
        print(f"{table.title}:\n{format_table(table.headers, table.rows)}")
    print("\n".join(section.bullets))
    log(f"wrote {path}")
    return 0
