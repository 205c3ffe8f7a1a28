"""A short `suite grads` over the three backends (one child process each)."""

import json
import os
import subprocess
import sys

import pytest

from suite.core.platform import child_env


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
    # softmax and cnn have no ReLU ties: every judged row passes, so the exit code is 0
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    files = list((tmp_path / "out").glob("grads-*.json"))
    assert len(files) == 1
    report = json.loads(files[0].read_text())
    assert report["schema"] == "keras-backend-suite/grads"
    assert report["settings"]["backends_run"] == ["torch", "jax", "tensorflow"]
    assert all(report["weights_identical"].values())
    # the timed path: one step of Keras' compiled train function, across backends and
    # against each backend's own eager gradients
    compiled = [p for p in report["pairs"] if p["dtype"] == "compiled step"]
    assert len(compiled) == 6 and all(p["status"] in ("pass", "tie") for p in compiled)
    own = [p for p in report["pairs"] if p["dtype"] == "compiled vs eager"]
    assert len(own) == 6 and all(p["status"] in ("pass", "tie") for p in own)
    f32 = [p for p in report["pairs"] if p["dtype"] == "float32"]
    assert len(f32) == 6 and all(p["status"] == "pass" for p in f32)
    ref = [r for r in report["reference"] if r["dtype"] == "float32" and "reference" not in r]
    assert len(ref) == 3 and all(r["pass"] for r in ref)  # softmax against numpy's float64
    # every backend's float32 against a backend whose float64 is float64 throughout
    f64 = [r for r in report["reference"] if "reference" in r]
    assert len(f64) == 6 and all(r["pass"] for r in f64)
    assert {r["reference"] for r in f64} <= {"jax float64", "tensorflow float64"}
    assert {t["optimizer"] for t in report["trajectory"]} == {"sgd", "adam"}
    assert all(set(t["weight_rel"]) == {"1", "3"} for t in report["trajectory"])
    assert "torch-jax" in proc.stdout
    # float64 decided per model from its own computation: Keras' torch matmul runs in
    # float32 (rows n/a, out of the verdict); JAX and TensorFlow compute in float64
    f64 = {
        (p["a"], p["b"], p["model"]): p["status"]
        for p in report["pairs"]
        if p["dtype"] == "float64"
    }
    assert len(f64) == 6  # 3 pairs x 2 models: the checks below cannot pass over nothing
    assert all(s == "n/a" for (a, b, _), s in f64.items() if "torch" in (a, b))
    assert all(s in ("pass", "tie") for (a, b, _), s in f64.items() if "torch" not in (a, b))
    precision = report["float64_precision"]
    assert precision["torch"]["softmax"][0] > 1e-9 and precision["jax"]["softmax"][0] < 1e-12
