"""--threads: the same CPU set for every backend, and the threads in use measured."""

import json
import os
import subprocess
import sys

import pytest

from suite.core.platform import child_env


def _run(backend, tmp_path, *extra):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "suite", "run", "--backend", backend, "--model", "mlp",
           "--epochs", "1", "--train-examples", "6400", "--test-examples", "500",
           "--out", str(out), *extra]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(next(out.rglob("*.json")).read_text())


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs at least 2 CPUs")
def test_one_thread_is_one_core_on_every_backend(backend, tmp_path):
    one = _run(backend, tmp_path / "one", "--threads", "1")
    settings = one["environment"]["settings"]
    assert len(settings["cpu_affinity"]) == 1 and settings["intra_op_threads"] == 1
    # measured, not echoed: CPU-seconds per wall-second over the timed chunks
    assert one["cpu_per_wall"] <= 1.05
    every = _run(backend, tmp_path / "all")
    assert every["environment"]["settings"]["cpu_affinity"] == sorted(os.sched_getaffinity(0))
    assert every["environment"]["settings"]["intra_op_threads"] == len(os.sched_getaffinity(0))
