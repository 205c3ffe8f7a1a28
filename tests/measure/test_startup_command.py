"""``startup`` end to end: fresh processes, cold and warm, a result the report reads, and
bad input refused before anything starts."""

import json
import subprocess
import sys

import pytest

from suite.core.platform import FRAMEWORK_LOG, child_env, is_installed


def startup(*args):
    return subprocess.run(
        [sys.executable, "-m", "suite", "startup", *args],
        capture_output=True, text=True, env=child_env(), timeout=900,
    )  # fmt: skip


@pytest.mark.cross
def test_startup_cold_and_warm_in_fresh_processes_and_its_report(tmp_path):
    backends = [b for b in ("jax", "torch") if is_installed(b)]
    if len(backends) < 2:
        pytest.skip("needs jax and torch")
    out = tmp_path / "st"
    proc = startup("--backends", *backends, "--models", "softmax", "--repeats", "2",
                   "--steps", "3", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob("startup-*.json")
    blob = json.loads(path.read_text())
    assert len(blob["rows"]) == 2 * 2 * 2 * 2  # backends x repeats x (train, predict) x caches
    for row in blob["rows"]:
        parts = row["import_s"] + row["build_s"] + row["first_step_s"]
        assert row["total_s"] == pytest.approx(parts) and row["step_s"] > 0
    # JAX compiles in its first call, cold: that call is slower than its steady one (torch's
    # eager first call does the same work as the later ones: either may be the longer)
    cold_jax = [r for r in blob["rows"] if r["backend"] == "jax" and r["cache"] == "cold"]
    assert cold_jax and all(r["step_s"] < r["first_step_s"] for r in cold_jax)
    assert "softmax, first train step: " in proc.stdout and " first by " in proc.stdout
    assert "softmax, first predict(): " in proc.stdout
    report = tmp_path / "rep"
    done = subprocess.run(
        [sys.executable, "-m", "suite", "report", str(out), "--out", str(report)],
        capture_output=True, text=True, env=child_env(), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    md = (report / "report.md").read_text()
    assert "Start-up: from a fresh process to the first step and the first predict()" in md


@pytest.mark.parametrize(
    "args, words",
    [
        (["--models", "densenet"], "unknown model 'densenet'"),
        (["--backends", "mxnet"], "unknown backend 'mxnet'"),
        (["--repeats", "0"], "--repeats 0: give at least 1 repeat"),
        (["--steps", "x"], "--steps x: not a whole number"),
        (["--what", "serve"], "unknown call 'serve'"),
    ],
)
def test_bad_startup_input_is_one_line_and_creates_nothing(tmp_path, args, words):
    out = tmp_path / "st"
    proc = startup(*args, "--out", str(out))
    lines = [ln for ln in proc.stderr.strip().splitlines() if not FRAMEWORK_LOG.match(ln)]
    assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr
    assert not out.exists()
