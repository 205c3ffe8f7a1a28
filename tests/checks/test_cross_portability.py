"""`suite portability` end to end: weights saved on each backend, loaded on the others."""

import json
import subprocess
import sys

import pytest

from suite.core.platform import child_env


@pytest.mark.cross
def test_weights_travel_between_all_backends(mnist, tmp_path):
    out = tmp_path / "port"
    cmd = [sys.executable, "-m", "suite", "portability", "--models", "softmax", "mlp"]
    cmd += ["--train-examples", "512", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout
    (path,) = out.glob("portability-*.json")
    blob = json.loads(path.read_text())
    pairs = {(t["model"], t["source"], t["target"]) for t in blob["transfers"]}
    assert len(pairs) == 12  # 2 models x 6 (saved on, loaded on) pairs
    assert all(t["verdict"] == "pass" and t["labels_differ"] == 0 for t in blob["transfers"])
    assert all(t["max_abs_logit_diff"] <= t["tolerance"] for t in blob["transfers"])


@pytest.mark.cross
def test_bad_portability_input(tmp_path):
    out = tmp_path / "never"
    for args, words in [
        (["--models", "vgg"], "unknown model 'vgg'"),
        (["--backends", "jax"], "--backends: weights travel between two backends"),
        (["--train-examples", "0"], "--train-examples 0"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "suite", "portability", *args, "--out", str(out)],
            capture_output=True, text=True, env=child_env(), timeout=300,
        )  # fmt: skip
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
        assert not out.exists()
