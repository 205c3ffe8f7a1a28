"""``diff``: compare two result sets and flag real changes."""

from __future__ import annotations

from pathlib import Path

from suite.core.errors import SuiteError

NAME = "diff"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="compare two result sets and flag real changes",
        description="Compares the cells present in both result sets on every metric they "
        "record: training throughput, predict() throughput, single-example latency, the "
        "first step (compilation) and peak memory each flagged beyond 10% where its 95% "
        "Welch interval over runs (seeds, processes) excludes no change (with one run a "
        "side, only beyond the 30% drift seen between identical runs); accuracy beyond "
        "seed noise; and every verdict that changed (the backend to use per workload, "
        "gradient and portability checks); where both have `startup` records, the time from a "
        "fresh process to the first call, the same way. Exit code 1 if anything changed.",
    )
    p.add_argument("old", metavar="OLD", help="results folder before")
    p.add_argument("new", metavar="NEW", help="results folder after")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.report.build import build_report
    from suite.report.collect import collect
    from suite.report.diff import diff_rows, startup_changes, verdict_changes
    from suite.report.terminal import format_diff, format_startup_diff

    old, new = collect([Path(args.old)]), collect([Path(args.new)])
    rows = diff_rows(old.runs, new.runs)
    starts = startup_changes(_newest(old.startup), _newest(new.startup))
    if not rows and starts:  # start-up records alone
        print(format_startup_diff(starts))
        return 1 if any(r["flag"] for r in starts) else 0
    if not rows:
        raise SuiteError(
            f"no cell is in both {args.old} and {args.new} (same backend, device, "
            "model, impl and settings); nothing to compare"
        )
    verdicts = verdict_changes(
        build_report([Path(args.old)], old), build_report([Path(args.new)], new)
    )
    print(format_diff(rows, verdicts))
    if starts:
        print(format_startup_diff(starts))
    changed = any(r["step_flag"] or r["acc_flag"] for r in rows) or verdicts
    changed = changed or any(o["flag"] for r in rows for o in r["others"])
    return 1 if changed or any(r["flag"] for r in starts) else 0


def _newest(blobs: list[dict]) -> dict | None:
    return max(blobs, key=lambda b: str(b.get("created")), default=None)
