"""``portability``: do weights saved on one backend predict the same on the others?"""

from __future__ import annotations

from pathlib import Path

from suite.commands import args as shared
from suite.commands.args import log
from suite.core.platform import BACKENDS

NAME = "portability"
TRAIN_EXAMPLES = 6000  # the brief training before saving


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="do weights saved on one backend predict the same on the others?",
        description="Each backend trains every model for one epoch on the first N training "
        "images and saves its weights (.weights.h5); every other backend loads them and "
        "predicts the 10,000 test images. Per (saved on, loaded on) pair: the largest "
        "logit difference against a tolerance, and how many predicted labels differ. "
        "Exit code 1 if any pair fails.",
    )
    shared.add(p, "models", "backends")
    p.add_argument(
        "--train-examples",
        type=int,
        default=TRAIN_EXAMPLES,
        metavar="N",
        help=f"images for the brief training before saving (default: {TRAIN_EXAMPLES})",
    )
    shared.add_out(p, "results/portability")
    shared.add(p, "data")
    p.set_defaults(func=handle)


def run(
    models,
    backends,
    out: Path,
    data: str | None,
    train_examples=TRAIN_EXAMPLES,
    say=print,
    prepared: dict | None = None,
):
    """The check as a library call (compare uses it too, saying everything to stderr);
    True when every pair passes. ``prepared``: brought models made ready, name ->
    (pinned name, weights folder); those not yet prepared are, into ``out``."""
    from suite.checks.portability.run import run_portability
    from suite.core.platform import installed_backends
    from suite.core.schemas import transfers_pass
    from suite.report.tables import transfer_table
    from suite.report.terminal import format_table

    backends = [b for b in backends if b in installed_backends()]
    first = backends[0] if backends else "jax"
    names, init_dirs = shared.pinned_models(models, prepared, 0, first, out)
    log(f"portability: {', '.join(names)} saved and loaded on {', '.join(backends)}")
    path, rows = run_portability(names, backends, out, train_examples, data, log, init_dirs)
    say(format_table(*transfer_table(rows)))
    say(f"wrote {path}")
    return transfers_pass(rows)


def handle(args) -> int:
    from suite.core.files import check_writable

    shared.check_models(args.models)
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_train_examples(args.train_examples)
    out = check_writable(args.out)
    return 0 if run(args.models, args.backends, out, args.data, args.train_examples) else 1
