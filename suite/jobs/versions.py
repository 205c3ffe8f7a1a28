"""``versions``: the environments (``suite.measure.versions``), the matrix with a worker
per version set and backend in the same rounds (``suite.measure.compare``), then the
report with its steps between releases (``suite.report.versions``)."""

from __future__ import annotations

import sys

from suite.core.errors import SuiteError
from suite.measure.versions import VersionsSettings


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
    here = ", ".join(f"{k} {v}" for k, v in here_versions().items() if v)
    log(f"versions: this environment has {here}; environments in {s.envs / 'envs'}")
    envs = environments(list(s.sets), s.envs, log)
    log(f"wrote {write_json(new_json_path(m.out / 'versions', 'versions'), versions_record(envs))}")
    ready = [vs for vs in s.sets if envs[vs.label].python]
    reasons = [f"{e.label} did not run ({e.error})" for e in envs.values() if e.error]
    if len(ready) < 2:
        log("versions: fewer than 2 version sets have an environment; nothing to compare")
        return reasons or ["nothing to compare"], {}
    pythons = {vs.label: envs[vs.label].python for vs in ready}
    pythons = {k: v for k, v in pythons.items() if v != sys.executable}
    cells = set_cells(plan_cells(m, backends), ready)
    env = child_env(SUITE_MNIST=m.data) if m.data else child_env()
    bad = run_matrix(backends, cells, m.out, m.force, m.data, env, log, processes=m.processes,
                     pythons=pythons)  # fmt: skip
    if bad:
        reasons.append(f"{len(bad)} cell(s) failed: {', '.join(bad)}")
    report = build_report([m.out])
    paths = write_files(report, m.out / "report")
    log(f"report: {', '.join(str(p) for p in paths)}")
    from suite.report.versions import step_words

    slower = [
        step_words(r)
        for d in report["devices"]
        for r in (d.get("versions") or {}).get("steps", [])
        if r["flag"] in ("slower", "lower")
    ]
    reasons += [f"flagged: {w}" for w in slower]
    return reasons, report
