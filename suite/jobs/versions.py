"""``versions``: the environments (``suite.measure.versions``), the matrix with a worker
per version set and backend in the same rounds (``suite.measure.compare``), then the
report with its steps between releases (``suite.report.versions``)."""

from __future__ import annotations

import sys

from suite.core.errors import SuiteError
from suite.measure.versions import VersionsSettings
from suite.report.versions import report_steps, step_words


def run_versions(s: VersionsSettings, log) -> tuple[list[str], dict]:
    """Make or find every set's environment, train every cell of the sets that have one,
    write the report. Returns what failed or regressed (one line each; empty: exit 0)
    and the report."""
    from suite.core.files import new_json_path, write_json
    from suite.core.platform import child_env, is_installed
    from suite.measure.compare import plan_cells, run_matrix
    from suite.measure.versions import environments, here_versions, set_cells, versions_record
    from suite.report.build import build_report
    from suite.report.render import write_files

    m = s.matrix
    backends = [b for b in m.backends if is_installed(b)]
    if not backends:
        raise SuiteError("none of the requested backends is installed; pip install '.[cpu]'")
    cells = plan_cells(m, backends)  # every setting checked before anything is made
    here = ", ".join(f"{k} {v}" for k, v in here_versions().items() if v)
    log(f"versions: this environment has {here}; environments in {s.envs / 'envs'}")
    envs = environments(list(s.sets), s.envs, log)
    record = new_json_path(m.out / "environments", "versions")
    log(f"wrote {write_json(record, versions_record(envs))}")
    ready = [vs for vs in s.sets if envs[vs.label].python]
    reasons = [f"{e.label} did not run ({e.error})" for e in envs.values() if e.error]
    if len(ready) < 2:
        log("versions: fewer than 2 version sets have an environment; nothing to compare")
        return reasons or ["nothing to compare"], {}
    pythons = {vs.label: envs[vs.label].python for vs in ready}
    pythons = {k: v for k, v in pythons.items() if v != sys.executable}
    cells = set_cells(cells, ready)
    env = child_env(SUITE_MNIST=m.data) if m.data else child_env()
    bad = run_matrix(backends, cells, m.out, m.force, m.data, env, log, processes=m.processes,
                     pythons=pythons, job="versions")  # fmt: skip
    if bad:
        reasons.append(f"{len(bad)} cell(s) failed: {', '.join(bad)}")
    report = build_report([m.out])
    paths = write_files(report, m.out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    worse = [r for r in report_steps(report) if r["flag"] in ("slower", "lower")]
    reasons += [f"flagged: {step_words(r)}" for r in worse]
    if s.bisect:
        reasons += [bisect_step(s, row, log) for row in _slower_training(report)]
    return reasons, report


def _slower_training(report: dict) -> list[dict]:
    return [
        r for r in report_steps(report) if r["flag"] == "slower" and r["metric"] == "training time"
    ]


def bisect_step(s: VersionsSettings, row: dict, log) -> str:
    """The first release with a step that got slower, from the index's releases between
    its two, each try a versions run of the three (low, middle, high) on the step's
    backend and workload, in OUT/bisect; one line saying what was found."""
    from dataclasses import replace

    from suite.core.environments import AXES, between, bisect_releases, parse_label, version_sets
    from suite.measure.versions import registry_releases

    dist, low, _ = parse_label(row["old"])
    _, high, _ = parse_label(row["new"])
    axis = next(a for a, d in AXES.items() if d == dist)
    what = f"{dist} {low} → {high} ({row['backend']} {row['model']})"
    try:
        inside = between(registry_releases(dist), low, high)
    except RuntimeError as e:
        return f"bisect {what}: {e}"
    log(f"bisect {what}: {len(inside)} release(s) between: {', '.join(inside) or 'none'}")
    folder = s.matrix.out / "bisect" / f"{row['backend']}-{row['model']}-{dist}-{low}-{high}"

    def judge(lo: str, mid: str, hi: str) -> str | None:
        matrix = replace(s.matrix, backends=(row["backend"],), models=(row["model"],),
                         out=folder / mid)  # fmt: skip
        sub = replace(s, matrix=matrix, sets=tuple(version_sets({axis: [lo, mid, hi]})),
                      bisect=False)  # fmt: skip
        _, report = run_versions(sub, log)
        where = {parse_label(r["new"])[1] for r in _slower_training(report)}
        answer = "low" if mid in where else "high" if hi in where else None
        log(f"bisect {what}: {lo} / {mid} / {hi}: the step is "
            + {"low": f"by {mid}", "high": f"after {mid}", None: "gone"}[answer])  # fmt: skip
        return answer

    first, tried = bisect_releases(low, high, inside, judge)
    if first is None and tried:
        return f"bisect {what}: the step did not reproduce ({len(tried)} tries)"
    return f"bisect {what}: the first release with the step is {first} ({len(tried)} tries)"
