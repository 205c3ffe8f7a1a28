"""Command line: one subparser per module of ``suite.commands``, then its handler.

Every flag's help states its default. Bad input ends as one ``error:`` line and
exit code 2 (``SuiteError``); Ctrl-C as one line and exit code 130. Nothing here
imports keras or a framework.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import suite
from suite.commands import (
    compare,
    data,
    diff,
    grads,
    models,
    parallel_check,
    portability,
    recipes,
    report,
    run,
    startup,
    sweep,
    timing_check,
    versions,
)
from suite.core.errors import SuiteError

# in the order `--help` lists them: the main job first
COMMANDS = (
    compare,
    models,
    data,
    run,
    timing_check,
    grads,
    sweep,
    startup,
    recipes,
    portability,
    parallel_check,
    report,
    diff,
    versions,
)


def program_name(argv0: str | None = None) -> str:
    """How the user called us: the console script's name, else ``python -m suite``."""
    name = Path(argv0 if argv0 is not None else sys.argv[0]).name
    return name if name and name not in ("__main__.py", "-c", "cli.py") else "python -m suite"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=program_name(),
        description="Train and compare Keras 3 models on MNIST under torch, JAX and "
        "TensorFlow. Start with `compare --quick`.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {suite.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:  # a flag's type= converter refuses bad input with a SuiteError, at the door
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:  # e.g. `models | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so Python's exit-time flush stays quiet
        return 1
    except SuiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished results are kept", file=sys.stderr)
        return 130
