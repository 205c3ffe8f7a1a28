"""Command line: parse, prepare the backend, call a library function.

Nothing here imports keras or a framework at module level: the backend must be
chosen (KERAS_BACKEND) before keras is imported.
"""

from __future__ import annotations

import argparse
import sys

from suite.errors import SuiteError


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_models(args) -> int:
    from models import MODELS
    from suite.format import format_table

    rows = [
        [
            s.name,
            f"{s.params:,}",
            f"{s.flops_per_example:,}",
            f"{s.target_accuracy:.1%}",
            f"{s.recipe.optimizer} lr={s.recipe.learning_rate:g} batch={s.recipe.batch_size} "
            f"epochs={s.recipe.epochs}",
        ]
        for s in MODELS.values()
    ]
    print(format_table(["model", "parameters", "FLOPs/example", "target", "recipe"], rows))
    return 0


def cmd_data(args) -> int:
    from suite import data

    mnist = data.load_mnist(args.data, log=_log)
    print(f"source:  {mnist.source}")
    print(f"cache:   {mnist.cache_path}")
    for key, a in mnist.arrays().items():
        print(f"{key:8} {a.dtype}{list(a.shape)}  sha256 {data.sha256(a)}")
    for key in ("y_train", "y_test"):
        counts = " ".join(str(int(c)) for c in __import__("numpy").bincount(getattr(mnist, key)))
        print(f"{key} label counts: {counts}")
    print("verified: shapes, dtypes, label counts and SHA-256 match MNIST")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m suite",
        description="Train and compare Keras 3 models on MNIST under torch, JAX and TensorFlow.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("models", help="list the models, their size, FLOPs, target and recipe")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("data", help="fetch or verify MNIST and print where it came from")
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="mnist.npz or a folder of the four IDX files "
        "(default: $SUITE_MNIST, then the cache, then offline sources)",
    )
    p.set_defaults(func=cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SuiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
