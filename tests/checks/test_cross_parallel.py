"""Data-parallel training over 2 virtual CPU devices on every backend: the replica
check passes, its must-fail case fails, and `run --devices 2` trains."""

import json
import subprocess
import sys

import pytest

from suite.core.platform import BACKENDS, child_env, visible_cpus

pytestmark = [
    pytest.mark.cross,
    pytest.mark.skipif(len(visible_cpus()) < 2, reason="2 virtual devices need 2 cores"),
]


def suite(*args, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "suite", *args],
        capture_output=True, text=True, env=child_env(), timeout=timeout,
    )  # fmt: skip


def verdicts(stdout):
    rows = [
        line.split() for line in stdout.splitlines() if line.split()[:1] in ([b] for b in BACKENDS)
    ]
    return {(r[0], r[1]): r[-1] for r in rows}


def test_two_devices_train_like_one_on_every_backend():
    proc = suite("parallel-check", "--models", "softmax", "cnn", "--steps", "3")
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout
    found = verdicts(proc.stdout)
    assert found == {(b, m): "pass" for b in BACKENDS for m in ("softmax", "cnn")}


def test_a_replica_on_the_wrong_shard_fails_the_check():
    proc = suite("parallel-check", "--models", "mlp", "--steps", "3", "--fault", "wrong-shard")
    assert proc.returncode == 1, proc.stderr[-3000:] + proc.stdout
    assert verdicts(proc.stdout) == {(b, "mlp"): "FAIL" for b in BACKENDS}
    torch = suite("parallel-check", "--models", "mlp", "--steps", "3", "--fault", "unaveraged",
                  "--backends", "torch")  # fmt: skip
    assert torch.returncode == 1, torch.stderr[-3000:] + torch.stdout
    assert verdicts(torch.stdout) == {("torch", "mlp"): "FAIL"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_on_two_devices(backend, tmp_path):
    out = tmp_path / "out"
    proc = suite(
        "run", "--backend", backend, "--model", "softmax", "--devices", "2", "--epochs", "1",
        "--train-examples", "1280", "--test-examples", "1000", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.rglob("*.json")
    result = json.loads(path.read_text())
    assert result["status"] == "ok" and result["config"]["devices"] == 2
    engine = result["environment"]["settings"]["data_parallel"]["engine"]
    want = {"jax": "DataParallel", "tensorflow": "MirroredStrategy"}
    assert engine == want.get(backend, "DistributedDataParallel")
    assert result["final_test_accuracy"] > 0.5


def test_bad_device_counts(tmp_path):
    out = tmp_path / "never"
    for args, words in [
        (["--devices", "0"], "--devices 0: give at least 1 device"),
        (["--devices", "99"], "--devices 99: this machine has"),
        (["--backend", "torch", "--devices", "2", "--steps-per-execution", "2"],
         "--steps-per-execution 2"),
    ]:  # fmt: skip
        backend = [] if "--backend" in args else ["--backend", "jax"]
        proc = suite("run", *backend, *args, "--out", str(out), timeout=300)
        assert proc.returncode == 2 and words in proc.stderr, proc.stderr
        assert not out.exists()


def test_two_hosts_over_loopback_train_like_one_device_and_the_faults_fail():
    """--hosts 2: two processes on this machine stand for two hosts (JAX's distributed
    runtime with gloo; TensorFlow's MultiWorkerMirroredStrategy; torch's DDP over a tcp
    rendezvous); the weights equal one device's, and a host on the wrong shard fails."""
    both = ("--models", "softmax", "--steps", "3")
    ok = suite("parallel-check", "--hosts", "2", *both, timeout=300)
    assert ok.returncode == 0, ok.stderr[-3000:] + ok.stdout
    assert verdicts(ok.stdout) == {(b, "softmax"): "pass" for b in BACKENDS}
    bad = suite("parallel-check", "--hosts", "2", *both, "--fault", "wrong-shard", timeout=300)
    assert bad.returncode == 1, bad.stderr[-3000:] + bad.stdout
    assert verdicts(bad.stdout) == {(b, "softmax"): "FAIL" for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_over_two_hosts(backend, tmp_path):
    """run --hosts 2: host 0 times, evaluates and writes the one result; each host ran
    on a core of its own, under its backend's multi-host engine."""
    out = tmp_path / "out"
    proc = suite(
        "run", "--backend", backend, "--model", "softmax", "--hosts", "2", "--epochs", "1",
        "--train-examples", "1280", "--test-examples", "1000", "--out", str(out), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.rglob("*.json")
    result = json.loads(path.read_text())
    assert result["status"] == "ok" and result["config"]["hosts"] == 2
    settings = result["environment"]["settings"]
    assert "-h2-" in result["cell"] and result["config"]["threads"] == len(visible_cpus())
    share = len(visible_cpus()) // 2  # each host its own share of this machine's cores
    assert settings["cpu_affinity"] == visible_cpus()[:share]
    assert settings["threads_per_host"] == share
    assert settings["intra_op_threads"] == share  # measured in host 0, not echoed
    engine = result["environment"]["settings"]["data_parallel"]["engine"]
    want = {"jax": "DataParallel", "tensorflow": "MultiWorkerMirroredStrategy"}
    assert engine == want.get(backend, "DistributedDataParallel")
    assert result["final_test_accuracy"] > 0.5 and result["throughput_examples_per_s"] > 0
