"""``parallel-check``: is data-parallel training over N devices the same as on one?"""

from __future__ import annotations

from models import MODELS
from suite.commands import args as shared
from suite.commands.args import log
from suite.core.config import FAULTS
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS, visible_cpus

NAME = "parallel-check"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="is data-parallel training over N devices the same as on one device?",
        description="Per backend (one process each): K SGD steps (lr 0.03, dropout off) from "
        "the shared initial weights on the same global batches, once on one device with "
        "Keras fit() and once over N devices with the backend's engine (JAX "
        "DataParallel, TensorFlow MirroredStrategy, torch DDP); the weights must agree "
        "within a float32 tolerance. --fault breaks the N-device run on purpose: the "
        "check must then fail. Exit code 1 if any check fails.",
    )
    shared.add(p, "models", "backends")
    shared.add(p, "devices", default=None, help="devices per host (default: 2, or 1 with --hosts)")
    shared.add(
        p,
        "hosts",
        help="H processes on this machine standing for H hosts, talking over 127.0.0.1 "
        "with each backend's multi-host engine (JAX: jax.distributed, gloo, fit(); "
        "TensorFlow: MultiWorkerMirroredStrategy with the suite's loop, as Keras 3.15's "
        "fit() fails under it; torch: DDP with a tcp rendezvous, one process per rank) "
        "(default: 1)",
    )
    shared.add(p, "port")
    p.add_argument("--steps", type=int, default=5, metavar="K", help="SGD steps (default: 5)")
    p.add_argument(
        "--batch-size", type=int, default=64, metavar="B", help="global batch (default: 64)"
    )
    p.add_argument(
        "--fault",
        default=FAULTS[0],
        metavar="F",
        help=f"{FAULTS[0]}, {FAULTS[1]} (replica 1 trains on replica 0's shard) or {FAULTS[2]} "
        f"(torch: gradients not all-reduced) (default: {FAULTS[0]})",
    )
    p.set_defaults(func=handle)


def devices(args) -> int:
    """Devices per host: --devices, else 2 on one host and 1 per host over several."""
    return args.devices if args.devices is not None else 2 if args.hosts == 1 else 1


def check(args) -> None:
    shared.check_names("model", args.models, MODELS)
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_hosts(args.hosts, args.port)
    n = devices(args)
    cores = len(visible_cpus())
    total = args.hosts * n
    if not 2 <= total <= cores:  # (below 1: refused at the door, by ``at_least``)
        where = f"--hosts {args.hosts} --devices {n}" if args.hosts > 1 else ""
        raise SuiteError(
            f"{where or f'--devices {n}'}: the check needs 2..{cores} devices in "
            "all here (one virtual device per CPU core)"
        )
    if args.port is not None:
        from suite.core.hosts import check_port_free

        for i in range(total):  # torch uses one port; checked alike
            check_port_free(args.port + i)
    if args.steps < 1:
        raise SuiteError(f"--steps must be positive, got {args.steps}")
    if args.fault not in FAULTS:
        raise SuiteError(f"--fault {args.fault!r} is not one of {', '.join(FAULTS)}")
    if args.fault == "unaveraged" and set(args.backends) != {"torch"}:
        raise SuiteError("--fault unaveraged skips DDP's all-reduce: give --backends torch")
    if args.batch_size < total or args.batch_size % total:
        raise SuiteError(f"--batch-size {args.batch_size} must split into {total} shards")


def handle(args) -> int:
    from suite.checks.parallel.judge import REL_TOLERANCE
    from suite.checks.parallel.run import run_check
    from suite.core.platform import installed_backends
    from suite.report.terminal import format_table

    check(args)
    n = devices(args)
    backends = [b for b in args.backends if b in installed_backends()]
    total = args.hosts * n
    over = f" ({args.hosts} hosts over 127.0.0.1, {n} each)" if args.hosts > 1 else ""
    log(f"parallel-check: {total} devices{over} against 1, {args.steps} SGD steps")
    checks = run_check(
        backends,
        args.models,
        n,
        args.steps,
        args.batch_size,
        args.fault,
        log,
        hosts=args.hosts,
        port=args.port,
    )
    rows = [
        [c.backend, c.model, str(c.devices), str(c.steps), c.worst_variable,
         f"{c.worst_rel:.2e}", c.verdict + (" (per-shard BatchNorm)" if c.per_shard else "")]
        for c in checks
    ]  # fmt: skip
    headers = ["backend", "model", "devices", "steps", "worst variable", "max rel", "verdict"]
    print(format_table(headers, rows))
    print(
        f"pass: every variable's N-device weights within {REL_TOLERANCE:g} of the "
        "single-device weights, relative to how far the single device moved them (a "
        "variable it barely moved: relative to the model's largest move)"
    )
    if any(c.per_shard for c in checks):
        print(
            "per-shard BatchNorm: this engine normalises over each replica's own shard "
            "(a synchronised BatchNorm would match one device); the single-device "
            "reference did the same, and each replica's moving statistics are not compared"
        )
    return 0 if checks and all(c.verdict == "pass" for c in checks) else 1
