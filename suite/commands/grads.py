"""``grads``: do the backends compute the same loss, gradients and training path?"""

from __future__ import annotations

import os

from suite.checks.grads.run import CHOICES, DTYPES, STEPS
from suite.commands import args as shared
from suite.commands.args import log
from suite.core.data import TRAIN_IMAGES
from suite.core.errors import SuiteError
from suite.core.platform import BACKENDS

NAME = "grads"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="do the backends compute the same loss, gradients and training path?",
        description="Loads one set of shared initial weights into each model on every "
        "backend (one child process each), computes logits, loss and gradients "
        "on the same batch in float32 and float64 (and, on request, under Keras' "
        "mixed_bfloat16 policy), compares every pair of "
        "backends and the softmax and MLP models against float64 numpy "
        "references, then trains K steps of SGD and Adam on each backend and "
        "reports how far the weights drift apart. Each variable is judged by its own "
        "rounding bound, derived from its computation (docs/checks.md). Exit codes: 0 "
        "every comparison passed; 1 one found a real difference (the last line says "
        "which); 2 bad input; 130 interrupted.",
    )
    shared.add(p, "models", "backends")
    p.add_argument(
        "--dtypes",
        nargs="+",
        default=list(DTYPES),
        metavar="D",
        help="float32, float64 and/or mixed_bfloat16 (Keras' policy: float32 variables, "
        "bfloat16 computation; judged with a tolerance derived from bfloat16's 8-bit "
        "significand, see docs/methodology.md) (default: float32 float64)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=STEPS,
        metavar="K",
        help=f"trajectory steps per optimizer; 0 skips it (default: {STEPS})",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="N",
        help="the fixed batch is the first N training images (default: 256)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the shared initial weights and batch order (default: 0)",
    )
    shared.add(p, "threads")
    shared.add_out(p)
    shared.add(p, "data")
    p.set_defaults(func=handle)


def check(models, backends, dtypes, steps: int, batch_size: int) -> None:
    shared.check_models(models)
    shared.check_names("backend", backends, BACKENDS)
    shared.check_names("dtype", dtypes, CHOICES)
    if not 1 <= batch_size <= TRAIN_IMAGES or steps < 0:
        raise SuiteError(f"--batch-size must be 1..{TRAIN_IMAGES} and --steps must not be negative")
    if steps and steps * batch_size > TRAIN_IMAGES:
        raise SuiteError(f"--steps x --batch-size exceeds one epoch of {TRAIN_IMAGES} images")


def handle(args) -> int:
    from suite.checks.grads.run import check_gradients
    from suite.core.files import check_writable
    from suite.core.schemas import grads_failures
    from suite.report.grads import format_report

    check(args.models, args.backends, args.dtypes, args.steps, args.batch_size)
    out = check_writable(args.out)
    shared.load_data(args.data)  # fetch once here, so the children read the cache
    if args.data:
        os.environ["SUITE_MNIST"] = args.data
    report, path = check_gradients(
        args.models, args.backends, args.dtypes, args.steps, args.batch_size, args.seed,
        args.threads, out, log=log,
    )  # fmt: skip
    print(format_report(report))
    log(f"wrote {path}")
    failures = grads_failures(report)
    if failures:  # exit code 1, and why, as the last line
        log(f"exit 1: gradients differ: {'; '.join(failures)}")
    return 1 if failures else 0
