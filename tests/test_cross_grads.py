"""A short `suite grads` over the three backends (one child process each)."""

import json
import os
import subprocess
import sys

import pytest

from suite.backends import child_env


@pytest.mark.cross
def test_short_grads_run(mnist, tmp_path):
    env = child_env()
    env["SUITE_CACHE_DIR"] = os.environ.get("SUITE_CACHE_DIR", str(tmp_path / "cache"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "suite",
            "grads",
            "--models",
            "softmax",
            "cnn",
            "--steps",
            "3",
            "--batch-size",
            "32",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
    )
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    files = list((tmp_path / "out").glob("grads-*.json"))
    assert len(files) == 1
    report = json.loads(files[0].read_text())
    assert report["schema"] == "keras-backend-suite/grads"
    assert report["settings"]["backends_run"] == ["torch", "jax", "tensorflow"]
    assert all(report["weights_identical"].values())
    f32 = [p for p in report["pairs"] if p["dtype"] == "float32"]
    assert len(f32) == 6 and all(p["status"] == "pass" for p in f32)
    ref = [r for r in report["reference"] if r["dtype"] == "float32"]
    assert len(ref) == 3 and all(r["pass"] for r in ref)
    assert {t["optimizer"] for t in report["trajectory"]} == {"sgd", "adam"}
    assert all(set(t["weight_rel"]) == {"1", "3"} for t in report["trajectory"])
    assert "torch-jax" in proc.stdout
