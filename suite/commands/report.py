"""``report``: report.md, report.html and report.csv from result folders."""

from __future__ import annotations

from pathlib import Path

from suite.commands import args as shared

NAME = "report"


def add_parser(sub) -> None:
    p = sub.add_parser(
        NAME,
        help="write report.html, report.md and the report CSVs from result folders",
        description="Reads one or more result folders (from several machines too; results "
        "from different devices are grouped, never ranked against each other) "
        "and writes report.html (self-contained, the verdict first), report.md with its "
        "figures as report-*.png, report.csv (one row per cell), report-rounds.csv (one "
        "row per timed chunk: every ratio and CI can be recomputed from it), "
        "report-inference.csv (one row per inference turn, the same for inference) and, where "
        "those results exist, report-grads.csv, report-recipes.csv and "
        "report-portability.csv (columns: results/README.md).",
    )
    p.add_argument("dirs", nargs="+", metavar="DIR", help="result folders to read")
    shared.add_out(p, "results/report")
    p.set_defaults(func=handle)


def handle(args) -> int:
    from suite.core.files import check_writable
    from suite.report.render import write_report

    out = check_writable(args.out)
    for path in write_report([Path(f) for f in args.dirs], out):
        print(path)
    return 0
