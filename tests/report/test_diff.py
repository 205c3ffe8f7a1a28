"""`diff`: real changes flagged, noise not."""

import subprocess
import sys

import pytest
from report_fixtures import make_run

from suite.core.results import write_result
from suite.report.diff import diff_rows


def test_diff_flags_20_percent_slowdown_not_2_percent():
    old = [make_run("jax", "mlp", s, 1.0, 0.970, spread=0.01) for s in range(3)]
    new_slow = [make_run("jax", "mlp", s, 1.2, 0.970, spread=0.01) for s in range(3)]
    new_same = [make_run("jax", "mlp", s, 1.02, 0.970, spread=0.01) for s in range(3)]
    slow = diff_rows((old), (new_slow))
    assert len(slow) == 1 and slow[0]["step_flag"] == "slower"
    assert slow[0]["time_ratio"].ratio == pytest.approx(1.2, abs=0.02)
    same = diff_rows((old), (new_same))
    assert same[0]["step_flag"] == "" and not same[0]["acc_flag"]
    worse = [make_run("jax", "mlp", s, 1.0, 0.95, spread=0.01) for s in range(3)]
    assert diff_rows((old), (worse))[0]["acc_flag"]


def test_diff_with_one_run_a_side_flags_only_beyond_vm_drift():
    old = [make_run("jax", "mlp", 0, 1.0, 0.97)]
    assert (
        diff_rows((old), ([make_run("jax", "mlp", 0, 1.2, 0.97)]))[0]["step_flag"] == ""
    )  # 20%, no CI: within the drift seen between identical runs
    assert diff_rows((old), ([make_run("jax", "mlp", 0, 1.5, 0.97)]))[0]["step_flag"] == "slower"


def test_diff_command_prints_the_table(tmp_path):
    for name, ms in (("old", 1.0), ("new", 1.5)):
        for seed in range(2):
            r = make_run("jax", "mlp", seed, ms, 0.97, spread=0.01)
            write_result(tmp_path / name / f"{r.cell}.json", r)
    proc = subprocess.run(
        [sys.executable, "-m", "suite", "diff", str(tmp_path / "old"), str(tmp_path / "new")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "new/old time [95% CI]" in proc.stdout and "slower" in proc.stdout
    assert "1 of 1 cells changed beyond noise" in proc.stdout


def test_diff_flags_every_other_metric_it_records():
    from dataclasses import replace

    old = [make_run("jax", "mlp", s, 1.0, 0.97, spread=0.01) for s in range(3)]
    new = [
        replace(r, first_step_ms=1000.0 + s, peak_rss_bytes=r.peak_rss_bytes + 10 * s)
        for s, r in enumerate(make_run("jax", "mlp", s, 1.0, 0.97, spread=0.01) for s in range(3))
    ]
    old = [replace(r, first_step_ms=500.0 + s, peak_rss_bytes=r.peak_rss_bytes + 10 * s)
           for s, r in enumerate(old)]  # fmt: skip
    (row,) = diff_rows(old, new)
    flags = {o["metric"]: o["flag"] for o in row["others"]}
    # must fail: the first step twice as long; must pass: the same memory
    assert flags == {"first step": "slower", "peak memory": ""}
    assert row["step_flag"] == "" and not row["acc_flag"]


def test_diff_names_every_verdict_that_changed(tmp_path):
    from suite.report.build import build_report
    from suite.report.diff import verdict_changes

    for name, (jax_ms, torch_ms) in (("old", (1.0, 1.5)), ("new", (1.5, 1.0))):
        for seed in range(3):
            for backend, ms in (("jax", jax_ms), ("torch", torch_ms)):
                r = make_run(backend, "mlp", seed, ms, 0.97, spread=0.01)
                write_result(tmp_path / name / f"{r.cell}.json", r)
    old, new = build_report([tmp_path / "old"]), build_report([tmp_path / "new"])
    assert verdict_changes(old, new) == ["use for mlp: jax -> torch"]
    assert verdict_changes(old, old) == []
    row = {"model": "mlp", "dtype": "float32", "a": "jax", "b": "torch", "status": "ok"}
    failed = {**new, "grads": {"pairs": [{**row, "pass": False}], "reference": []}}
    passed = {**new, "grads": {"pairs": [{**row, "pass": True}], "reference": []}}
    assert verdict_changes(passed, failed) == ["gradients, mlp float32 jax vs torch: pass -> FAIL"]


def test_diff_flags_a_slower_start_up_not_the_same_one():
    from report_fixtures import startup_blob

    from suite.report.diff import startup_changes

    old = startup_blob()
    rows = startup_changes(old, startup_blob(torch_start=(2.0, 2.3, 1.9)))
    flags = {(r["backend"], r["cache"]): r["flag"] for r in rows}
    assert flags == {("jax", "cold"): "", ("jax", "warm"): "", ("torch", "cold"): "slower",
                     ("torch", "warm"): "slower"}  # fmt: skip
    assert not any(r["flag"] for r in startup_changes(old, startup_blob()))
    assert startup_changes(old, None) == []
