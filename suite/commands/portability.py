"""``portability``: do weights saved on one backend predict the same on the others?"""

from __future__ import annotations

from suite.checks.portability.run import TRAIN_EXAMPLES
from suite.commands import args as shared
from suite.commands.args import log
from suite.core.platform import BACKENDS

NAME = "portability"


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


def handle(args) -> int:
    from suite.checks.portability.run import check_portability
    from suite.core.files import check_writable
    from suite.core.schemas import transfers_pass
    from suite.report.tables import transfer_table
    from suite.report.terminal import format_table

    shared.check_models(args.models)
    shared.check_names("backend", args.backends, BACKENDS)
    shared.check_train_examples(args.train_examples)
    out = check_writable(args.out)
    path, rows = check_portability(
        args.models, args.backends, out, args.data, args.train_examples, log=log
    )
    print(format_table(*transfer_table(rows)))
    print(f"wrote {path}")
    return 0 if transfers_pass(rows) else 1
