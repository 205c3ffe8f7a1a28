"""Report, compare-resume and diff on small result folders built here."""

import json
import subprocess
import sys
import zlib
from dataclasses import replace

import numpy as np
import pytest

from suite.compare import child_batches, finished_cells, pending, plan_cells
from suite.config import RunConfig, validate
from suite.errors import SuiteError
from suite.report import build_report, csv_text, html, markdown, write_report
from suite.report_data import (
    accuracy_differs,
    collect,
    diff_rows,
    group,
    speed_rows,
    speed_verdict,
)
from suite.results import EpochRecord, RunResult, write_result
from suite.stats import summarize


def make_run(backend, model, seed, ms, acc, host="box", n=200, spread=0.02, status="ok"):
    cfg = validate(RunConfig(backend=backend, model=model, seed=seed), check_install=False)
    rng = np.random.default_rng(zlib.crc32(f"{backend}{model}{seed}{ms}".encode()))
    steps = list(ms * (1 + spread * rng.standard_normal(n)))
    return RunResult(
        run_id="r1",
        cell=cfg.cell_name(),
        status=status,
        config={**cfg.__dict__},
        model={"params": 1, "flops_per_example": 1000, "target_accuracy": 0.9},
        environment={
            "backend": backend,
            "cpu": "TestCPU",
            "cpu_cores_logical": 2,
            "hostname": host,
            "device": {"kind": "cpu", "name": "cpu"},
            "framework": {backend: "1.0"},
            "settings": {"intra_op_threads": 2},
            "python": "3.11",
            "keras": "3.15",
            "os": "linux",
        },
        step_time_ms=summarize(np.asarray(steps) / 1e3),
        step_times_ms=steps,
        first_step_ms=500.0,
        history=[EpochRecord(1, 0.3, 0.2, acc, 10.0, 100)],
        final_test_accuracy=acc,
        time_to_accuracy_s=10.0,
        peak_rss_bytes=2**30,
        misclassified=[[0, 3]],
    )


@pytest.fixture
def results_dir(tmp_path):
    d = tmp_path / "results" / "run1"
    for seed in range(3):
        for backend, ms in (("jax", 1.0), ("torch", 1.2), ("tensorflow", 1.0)):
            r = make_run(backend, "mlp", seed, ms, 0.97 + 0.001 * seed)
            write_result(d / f"{r.cell}.json", r)
    (d / "broken.json").write_text("{ not json")
    (d / "other.json").write_text('{"schema": "someone-else/v9"}')
    return tmp_path / "results"


def test_speed_rows_rank_only_significant_differences(results_dir):
    cells = next(iter(group(collect([results_dir]).runs).values()))
    rows = speed_rows(cells, "mlp")
    assert {r["backend"] for r in rows[:2]} == {"jax", "tensorflow"}
    by = {r["backend"]: r for r in rows}
    jax, tf, torch = by["jax"], by["tensorflow"], by["torch"]
    fast, second = rows[0], rows[1]
    assert (
        fast["fastest"]
        and torch["significant"]
        and torch["relative"] == pytest.approx(1.2, abs=0.02)
    )
    assert second["significant"] is False  # same distribution: no real difference
    verdict = speed_verdict(rows)
    assert "not significantly different" in verdict and second["backend"] in verdict
    assert jax["examples_per_s"] == pytest.approx(64 / 1e-3, rel=0.03)  # mlp batch 64
    assert tf["median_ms"] == pytest.approx(1.0, rel=0.01)


def test_accuracy_test_needs_seeds_and_detects_difference():
    runs = {
        ("a", "m", "keras"): [
            {"status": "ok", "final_test_accuracy": v} for v in (0.9, 0.91, 0.92)
        ],
        ("b", "m", "keras"): [
            {"status": "ok", "final_test_accuracy": v} for v in (0.80, 0.81, 0.82)
        ],
    }
    t = accuracy_differs(runs, "m")
    assert t["test"] == "Kruskal-Wallis H" and t["p"] < 0.1
    one = {k: v[:1] for k, v in runs.items()}
    assert accuracy_differs(one, "m")["significant"] is None


def test_report_files_self_contained_and_escaped(results_dir, tmp_path):
    evil = make_run("jax", "cnn", 0, 50.0, 0.99, host='<script>alert("x")</script>')
    write_result(results_dir / "run2" / f"{evil.cell}.json", evil)
    paths = write_report([results_dir], tmp_path / "report")
    assert sorted(p.name for p in paths) == ["report.csv", "report.html", "report.md"]
    page = (tmp_path / "report" / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and 'src="//' not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "data:image/png;base64," in page
    md = (tmp_path / "report" / "report.md").read_text()
    assert "2 files skipped" in md and "broken.json" in md and "someone-else/v9" in md
    # two machines: two device sections, never ranked against each other
    assert md.count("## cpu: cpu on TestCPU") == 2
    csv = (tmp_path / "report" / "report.csv").read_text().splitlines()
    assert len(csv) == 1 + 10 and csv[0].startswith("device,backend,model")


def test_report_on_partial_matrix_with_failed_cell(tmp_path):
    d = tmp_path / "r"
    write_result(d / "a.json", make_run("jax", "softmax", 0, 0.3, 0.92))
    failed = replace(
        make_run("torch", "softmax", 0, 1.0, 0.9, status="failed"),
        step_time_ms=None,
        step_times_ms=[],
        final_test_accuracy=None,
        history=[],
        error="boom",
    )
    write_result(d / "b.json", failed)
    report = build_report([d])
    text = markdown(report)
    assert "softmax" in text and csv_text(report).count("\n") == 3
    html(report, text, {})


def test_empty_or_missing_folder_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="no such results folder"):
        collect([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="nothing to report"):
        collect([tmp_path / "empty"])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "suite",
            "report",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "nothing to report" in proc.stderr
    assert not (tmp_path / "out" / "report.md").exists()


def test_unknown_schema_version_is_skipped(tmp_path):
    d = tmp_path / "r"
    write_result(d / "a.json", make_run("jax", "mlp", 0, 1.0, 0.97))
    data = json.loads((d / "a.json").read_text())
    data["schema_version"] = 7
    (d / "b.json").write_text(json.dumps(data))
    c = collect([d])
    assert len(c.runs) == 1 and "schema version 7" in c.skipped[0]


def test_compare_resume_skips_finished_cells(tmp_path):
    cells = plan_cells(["jax", "torch"], ["softmax", "mlp"], [0], "cpu", quick=True)
    assert len(cells) == 4
    runs = tmp_path / "runs" / "x"
    done = make_run("jax", "softmax", 0, 1.0, 0.9)
    done = replace(done, cell=cells[0].cell_name())
    write_result(runs / f"{cells[0].cell_name()}.json", done)
    bad = replace(done, cell=cells[1].cell_name(), status="failed")
    write_result(runs / f"{cells[1].cell_name()}.json", bad)
    todo = pending(cells, finished_cells(tmp_path / "runs"), force=False)
    assert [c.cell_name() for c in todo] == [c.cell_name() for c in cells[1:]]
    assert len(pending(cells, finished_cells(tmp_path / "runs"), force=True)) == 4
    assert child_batches(todo, ["softmax", "mlp"]) == [
        ("jax", "mlp", [0]),
        ("torch", "softmax", [0]),
        ("torch", "mlp", [0]),
    ]
    full = plan_cells(["torch"], ["softmax", "mlp", "cnn"], [0, 1], "cpu", quick=True)
    assert child_batches(full, ["softmax", "mlp", "cnn"]) == [("torch", "all", [0, 1])]


def test_diff_flags_20_percent_slowdown_not_2_percent(tmp_path):
    old = [make_run("jax", "mlp", s, 1.0, 0.970, spread=0.01) for s in range(3)]
    new_slow = [make_run("jax", "mlp", s, 1.2, 0.970, spread=0.01) for s in range(3)]
    new_same = [make_run("jax", "mlp", s, 1.02, 0.970, spread=0.01) for s in range(3)]
    to_dicts = lambda runs: [json.loads(json.dumps(r, default=lambda o: o.__dict__)) for r in runs]  # noqa: E731
    slow = diff_rows(to_dicts(old), to_dicts(new_slow))
    assert (
        len(slow) == 1
        and slow[0]["step_flag"] == "slower"
        and slow[0]["ratio"] == pytest.approx(1.2, abs=0.01)
    )
    same = diff_rows(to_dicts(old), to_dicts(new_same))
    assert same[0]["step_flag"] == "" and not same[0]["acc_flag"]
    worse = [make_run("jax", "mlp", s, 1.0, 0.95, spread=0.01) for s in range(3)]
    assert diff_rows(to_dicts(old), to_dicts(worse))[0]["acc_flag"]
