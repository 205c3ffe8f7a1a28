"""``timing-check``: the suite's chunked throughput against a plain fit(), and its
latency diagnostic against a bare loop, in alternating blocks."""

from __future__ import annotations

import tempfile
from pathlib import Path

from suite.commands import args as shared
from suite.commands.args import DEFAULTS, log
from suite.core.errors import SuiteError
from suite.training import brought

NAME = "timing-check"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="hold the suite's throughput against a plain fit() and its latency against a "
        "bare loop",
        description="In alternating blocks on the same batches: the suite's chunked "
        "throughput against a plain, uninstrumented fit() timed per epoch (or, with "
        "--impl native, one uninterrupted native loop), with a 95% CI from the blocks; a "
        "block goes over its steps as many times as make about 2 s of work; where that is twice "
        "or more, the same plain fit() one call per epoch, which measures what its epoch "
        "boundaries cost (on TensorFlow, a stall freeing each epoch's tf.data iterator); and "
        "the per-step latency diagnostic against a bare loop over Keras' own train function.",
    )
    shared.add(p, "backend", "model", "device", "batch_size")
    p.add_argument(
        "--impl",
        default=DEFAULTS["impl"],
        metavar="I",
        help=f"keras or native (default: {DEFAULTS['impl']})",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=160,
        metavar="N",
        help="distinct steps per block, at most one epoch (default: 160)",
    )
    p.add_argument(
        "--blocks",
        type=int,
        default=6,
        metavar="N",
        help="alternating blocks of each method (default: 6)",
    )
    shared.add(p, "jit", "data_format", "threads", "chunk_steps", "data")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.frameworks import select_backend

    if args.steps < 8 or args.blocks < 2:
        raise SuiteError(
            f"--steps must be at least 8 and --blocks at least 2 (got --steps {args.steps}, "
            f"--blocks {args.blocks}): a CI needs paired blocks of several chunks"
        )
    configs = shared.configs(args)
    select_backend(configs[0].backend, configs[0].device, configs[0].threads)

    from suite.report.terminal import format_timing_checks
    from suite.training.probes import prepare

    prepare(configs[0])
    mnist = shared.load_data(args.data)
    with tempfile.TemporaryDirectory() as tmp:  # a brought model's weights; nothing is kept
        prepared = brought.brought_models(
            [args.model], [c.seed for c in configs], configs[0].backend, Path(tmp), True, log=log
        )
        configs = brought.with_brought(configs, prepared)
        checks = [_check(cfg, mnist, args) for cfg in configs]
    print(format_timing_checks(checks))
    return 0


def _check(cfg, mnist, args):
    from suite.measure.timing_check import check_timing

    log(f"[{cfg.backend} {cfg.model} {cfg.impl}] {args.blocks} blocks of {args.steps} steps")
    return check_timing(cfg, mnist, steps=args.steps, blocks=args.blocks)
