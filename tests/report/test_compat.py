"""Results written before the floor-plan change (tests/data/results-v0.1, written by
commit 7ab2df8) still load, with their cells named and grouped as before."""

import json
from pathlib import Path

from suite.core.config import RunConfig, validate
from suite.report.build import build_report
from suite.report.collect import collect
from suite.report.render import write_files

OLD = Path(__file__).resolve().parents[1] / "data" / "results-v0.1"


def test_every_old_file_loads_and_none_is_skipped():
    c = collect([OLD])
    assert c.skipped == []
    assert len(c.runs) == 2 and len(c.grads) == 1 and len(c.rounds) == 1
    assert len(c.sweeps) == 1 and len(c.recipes) == 1 and len(c.portability) == 1


def test_old_cells_keep_their_names_and_pair_by_round():
    for path in (OLD / "runs").glob("*-seed0-*.json"):
        config = json.loads(path.read_text())["config"]
        cfg = validate(RunConfig(**config), check_install=False)
        assert cfg.cell_name() == path.stem  # the same settings, the same file name
    report = build_report([OLD])
    (device,) = report["devices"]
    (rows,) = device["speed"].values()
    slower = [r for r in rows if r["ratio"] is not None]
    assert len(slower) == 1 and "paired" in slower[0]["ratio"].method


def test_a_report_is_written_from_old_results(tmp_path):
    paths = write_files(build_report([OLD]), tmp_path)
    assert {p.name for p in paths} >= {"report.html", "report.md", "report.csv"}
    text = (tmp_path / "report.md").read_text()
    assert "Gradient equivalence" in text and "Weights across backends" in text
