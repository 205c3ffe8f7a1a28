"""Bad input to `suite run`: one line, exit code 2, no result file. Input refused at
the door is the same under every backend (``door_backend``: run once); what needs the
backend's framework (a model built, weights loaded, a device or port probed) runs under
each."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from suite.core.platform import BACKENDS, FRAMEWORK_LOG, is_installed


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "suite", "run", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )


def assert_refused(proc, out, *words):
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if not FRAMEWORK_LOG.match(ln)]
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0]
    assert not out.exists()  # nothing is created before the input is known to be good


@pytest.mark.parametrize(
    "args, words",
    [
        (["--backend", "mxnet"], ["unknown backend", "torch, jax, tensorflow"]),
        (["--model", "densenet"], ["unknown model"]),
        (["--epochs", "0"], ["--epochs must be positive"]),
        (["--batch-size", "-1"], ["--batch-size must be positive"]),
        (["--lr", "0"], ["--lr must be positive"]),
        (["--lr", "inf"], ["--lr must be a finite number"]),
        (["--lr", "1e400"], ["--lr must be a finite number"]),
        (["--seeds", "-1"], ["--seeds -1", "0..4294967295"]),
        (["--seeds", "4294967296"], ["--seeds 4294967296", "0..4294967295"]),
        (["--seeds", "0", "0"], ["--seeds 0 0", "each seed once"]),
        (["--chunk-steps", "-3"], ["--chunk-steps must not be negative"]),
        (["--chunk-steps", "10", "--steps-per-execution", "4"], ["--chunk-steps 10", "multiple"]),
    ],
)
def test_bad_settings(door_backend, tmp_path, args, words):
    out = tmp_path / "out"
    argv = ["--backend", door_backend, *args] if "--backend" not in args else args
    assert_refused(run(*argv, "--out", str(out)), out, *words)


def test_empty_out_is_refused(door_backend, tmp_path):
    proc = run("--backend", door_backend, "--out", "", cwd=tmp_path)
    assert_refused(proc, tmp_path / "nothing", "--out is empty")
    assert list(tmp_path.iterdir()) == []  # not even into the current folder


def test_unwritable_out(door_backend, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run("--backend", door_backend, "--out", str(blocker / "results"))
    assert_refused(proc, blocker / "results", "not writable")


def test_gpu_without_gpu(backend, tmp_path):
    if os.environ.get("SUITE_DEVICE") == "gpu":
        pytest.skip("a GPU env: the GPU is expected to be there")
    out = tmp_path / "out"
    proc = run("--backend", backend, "--device", "gpu", "--model", "softmax", "--out", str(out))
    assert_refused(proc, out, "--device gpu", "no", "GPU")


def test_framework_not_installed(tmp_path):
    missing = [b for b in BACKENDS if not is_installed(b)]
    if not missing:
        pytest.skip("all three frameworks are installed in this environment")
    out = tmp_path / "out"
    proc = run("--backend", missing[0], "--out", str(out))
    assert_refused(proc, out, f"{missing[0]} is not installed", f"tox -e {missing[0]}-cpu")


def test_smoke_run_prints_table_and_writes(backend, tmp_path):
    out = tmp_path / "out"
    proc = run(
        "--backend",
        backend,
        "--model",
        "softmax",
        "--epochs",
        "1",
        "--train-examples",
        "640",
        "--test-examples",
        "1000",
        "--out",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = list(out.rglob("*.json"))
    assert len(files) == 1 and files[0].name.startswith(f"{backend}-cpu-softmax-keras-seed0-")
    assert "throughput examples/s" in proc.stdout and "latency ms" in proc.stdout
    assert "epoch 1/1" in proc.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--evaluate-only"], ["--evaluate-only", "give --load-weights"]),
        (
            ["--load-weights", "missing.weights.h5"],
            ["--load-weights missing.weights.h5", "no such"],
        ),
    ],
)
def test_bad_weights_flags(door_backend, tmp_path, args, words):
    out = tmp_path / "out"
    assert_refused(run("--backend", door_backend, *args, "--out", str(out)), out, *words)


@pytest.fixture(scope="module")
def saved_softmax(tmp_path_factory):
    """A real softmax .weights.h5, saved by a short run on this backend."""
    import keras

    out = tmp_path_factory.mktemp("saved")
    proc = run(
        "--backend", keras.backend.backend(), "--model", "softmax", "--epochs", "1",
        "--train-examples", "640", "--test-examples", "500", "--save-weights", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return next(out.rglob("*.weights.h5"))


def test_loaded_weights_evaluate_the_same(backend, saved_softmax):
    result = json.loads(next(saved_softmax.parent.glob("*.json")).read_text())
    proc = run(
        "--backend", backend, "--model", "softmax", "--load-weights", str(saved_softmax),
        "--evaluate-only", "--test-examples", "500",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"test accuracy {result['final_test_accuracy']:.2%}" in proc.stdout


def test_bad_weights_files(door_backend, tmp_path, saved_softmax):
    """A file that is not HDF5, is truncated, or holds another model's weights: the same
    one line whatever the backend (the file is read by h5py and Keras' own loader), so
    it runs once."""
    out = tmp_path / "out"
    truncated = tmp_path / "cut.weights.h5"
    truncated.write_bytes(saved_softmax.read_bytes()[:2000])
    not_hdf5 = tmp_path / "text.weights.h5"
    not_hdf5.write_text("hello")
    cases = [
        (["--model", "mlp", "--load-weights", str(saved_softmax)], ["another model's weights"]),
        (["--model", "cnn", "--load-weights", str(saved_softmax)], ["cannot be loaded", "cnn"]),
        (["--model", "softmax", "--load-weights", str(truncated)], ["truncated"]),
        (["--model", "softmax", "--load-weights", str(not_hdf5)], ["not an HDF5 file"]),
    ]
    # two at a time: each child loads Keras to read the file; nothing here is timed
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [
            (pool.submit(run, "--backend", door_backend, *a, "--out", str(out / str(i))), w)
            for i, (a, w) in enumerate(cases)
        ]
        for job, words in jobs:
            assert_refused(job.result(), out, *words)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--hosts", "0"], ["--hosts 0: give at least 1 host"]),
        (["--hosts", "3"], ["--hosts 3 --devices 1: this machine has"]),
        (["--port", "29500"], ["--port 29500: only with --hosts 2 or more"]),
        (["--hosts", "2", "--port", "0"], ["--port 0: a port is 1..65535"]),
        (["--hosts", "2", "--load-weights", "w.weights.h5"], ["--hosts 2 with --load-weights"]),
        (["--hosts", "2", "--save-weights"], ["--hosts 2 with --save-weights"]),
        (["--hosts", "2", "--model", "mine.py:build"], ["--hosts 2 with --model mine.py:build"]),
        (["--hosts", "2", "--batch-size", "63"], ["--hosts 2 --devices 1", "split into 2"]),
        (["--hosts", "2", "--device", "gpu"], ["--hosts 2: hosts over loopback run on the CPU"]),
    ],
)
def test_bad_host_settings(door_backend, tmp_path, args, words):
    if len(os.sched_getaffinity(0)) > 2 and "--hosts 3" in " ".join(args):
        pytest.skip("3 hosts fit on more than 2 cores")
    out = tmp_path / "out"
    assert_refused(run("--backend", door_backend, *args, "--out", str(out)), out, *words)


def test_hosts_refuse_a_port_in_use_and_tensorflow_devices_per_host(backend, tmp_path):
    import socket

    out = tmp_path / "out"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = run("--backend", backend, "--hosts", "2", "--port", str(port), "--out", str(out))
        assert_refused(proc, out, f"--port {port}: in use")
    proc = run("--backend", "tensorflow", "--hosts", "2", "--devices", "2", "--out", str(out))
    assert_refused(proc, out, "--hosts 2 --devices 2 on tensorflow", "one CPU device per worker")
