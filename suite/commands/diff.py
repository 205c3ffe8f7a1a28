"""``diff``: compare two result sets and flag real changes."""

from __future__ import annotations

from pathlib import Path

from suite.core.errors import SuiteError

NAME = "diff"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="compare two result sets and flag real changes",
        description="Compares the cells present in both result sets: training-throughput "
        "changes beyond 10% whose 95% Welch interval over runs (seeds) excludes no change "
        "(with one run a side, only changes beyond the 30% drift seen between identical "
        "runs), and accuracy changes beyond seed noise. Exit code 1 if anything changed.",
    )
    p.add_argument("old", metavar="OLD", help="results folder before")
    p.add_argument("new", metavar="NEW", help="results folder after")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.report.collect import collect
    from suite.report.diff import diff_rows
    from suite.report.terminal import format_diff

    old, new = collect([Path(args.old)]), collect([Path(args.new)])
    rows = diff_rows(old.runs, new.runs)
    if not rows:
        raise SuiteError(
            f"no cell is in both {args.old} and {args.new} (same backend, device, "
            "model, impl and settings); nothing to compare"
        )
    print(format_diff(rows))
    return 1 if any(r["step_flag"] or r["acc_flag"] for r in rows) else 0
