"""A start-up result in a folder: the report reads it (schema checked) and shows its
section with each workload's verdict; a malformed one is skipped with its reason."""

import json

from report_fixtures import startup_blob as blob

from suite.core.schemas import STARTUP, STARTUP_VERSION
from suite.report.build import build_report
from suite.report.sections import sections


def test_a_startup_result_is_reported(tmp_path):
    data = {"schema": STARTUP, "schema_version": STARTUP_VERSION, "created": "2026-12-05",
            "repeats": 3, "steady_steps": 20, **blob()}  # fmt: skip
    (tmp_path / "startup-x.json").write_text(json.dumps(data))
    report = build_report([tmp_path])
    (section,) = [s for s in sections(report) if s.title.startswith("Start-up")]
    assert section.bullets[0].startswith("cnn, first train step: torch first by 10 s cold")
    assert [t.title for t in section.tables] == ["first train step"]
    bad = {**data, "rows": [{**data["rows"][0], "total_s": -1.0}]}
    (tmp_path / "startup-x.json").write_text(json.dumps(bad))
    (tmp_path / "startup-y.json").write_text(json.dumps(data))
    report = build_report([tmp_path])
    assert any("total_s must be a positive number" in s for s in report["skipped"])
