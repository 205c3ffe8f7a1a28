"""`suite compare` end to end on a small slice: three backends, report, then resume."""

import subprocess
import sys

import pytest

from suite.backends import child_env


@pytest.mark.cross
def test_compare_small_matrix_then_resume(mnist, tmp_path):
    env = child_env()
    cmd = [
        sys.executable,
        "-m",
        "suite",
        "compare",
        "--models",
        "softmax",
        "--quick",
        "--train-examples",
        "1024",
        "--out",
        str(tmp_path / "cmp"),
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert first.returncode in (0, 1), first.stderr[-3000:]
    assert "3 cells (0 already done)" in first.stderr
    report = tmp_path / "cmp" / "report"
    assert {p.name for p in report.iterdir()} == {"report.md", "report.html", "report.csv"}
    md = (report / "report.md").read_text()
    assert "Which backend should I use?" in md and "Gradient equivalence" in md
    assert len(list((tmp_path / "cmp" / "runs").rglob("*.json"))) == 3
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert "3 cells (3 already done)" in second.stderr, second.stderr[-2000:]
    assert len(list((tmp_path / "cmp" / "runs").rglob("*.json"))) == 3
