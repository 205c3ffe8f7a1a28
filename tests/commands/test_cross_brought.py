"""A brought model (examples/rowgru.py, its layers left for Keras to name) through
`suite compare --quick` on every backend: built once, the same initial weights
everywhere, named with its source hash in the results and the report, its gradient and
portability verdicts passing; and one that a backend cannot run is a failed cell there
while the others go on."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.core.platform import child_env

ROOT = Path(__file__).parents[2]


def compare(tmp_path, model, *extra):
    cmd = [
        sys.executable, "-m", "suite", "compare", "--quick", "--models", model,
        "--train-examples", "1280", "--processes", "1", "--out", str(tmp_path / "cmp"),
        *extra,
    ]  # fmt: skip
    return subprocess.run(
        cmd, capture_output=True, text=True, env=child_env(), timeout=1200, cwd=ROOT
    )


@pytest.mark.cross
def test_compare_quick_with_a_brought_model(mnist, tmp_path):
    # unnamed layers: Keras numbers them per process (gru_1 in one, gru in another)
    proc = compare(tmp_path, "examples/rowgru.py:build")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (card_path,) = (tmp_path / "cmp" / "brought").glob("*/card.json")
    card = json.loads(card_path.read_text())
    name = f"examples/rowgru.py:build#{card['source_hash']}"
    runs = [
        json.loads(p.read_text())
        for p in (tmp_path / "cmp" / "runs").rglob("*.json")
        if p.name != "rounds.json"
    ]
    assert sorted(r["config"]["backend"] for r in runs) == ["jax", "tensorflow", "torch"]
    assert {r["config"]["model"] for r in runs} == {name}
    assert {r["status"] for r in runs} == {"ok"}
    assert {r["model"]["params"] for r in runs} == {card["params"]}
    # the same start on every backend: equal first-step losses of the same batches
    first = [r["history"][0]["train_loss"] for r in runs]
    assert np.ptp(first) < 1e-3 * abs(first[0])
    md = (tmp_path / "cmp" / "report" / "report.md").read_text()
    assert name in md
    # the gradient check covered it, from the same saved initial weights
    (grads,) = (tmp_path / "cmp" / "grads").glob("grads-*.json")
    blob = json.loads(grads.read_text())
    assert {r["model"] for r in blob["pairs"]} == {name}
    assert set(blob["weights_identical"].values()) == {True}
    assert all(r["pass"] for r in blob["pairs"] + blob["reference"] if r["status"] != "n/a")
    # and its weights moved across every pair of backends
    (port,) = (tmp_path / "cmp" / "portability").glob("portability-*.json")
    transfers = json.loads(port.read_text())["transfers"]
    assert len(transfers) == 6 and {t["verdict"] for t in transfers} == {"pass"}
    assert {t["weights_identical"] for t in transfers} == {True}


@pytest.mark.cross
def test_a_backend_that_cannot_run_it_fails_alone(mnist, tmp_path):
    source = tmp_path / "torchless.py"
    source.write_text(
        "import keras\n"
        "def build(input_shape, num_classes):\n"
        "    inputs = keras.Input(shape=input_shape)\n"
        "    x = keras.layers.Flatten()(inputs)\n"
        "    if keras.backend.backend() == 'torch':\n"
        "        raise NotImplementedError('no such op on torch')\n"
        "    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))\n"
    )
    proc = compare(tmp_path, f"{source}:build", "--backends", "jax", "torch")
    assert proc.returncode == 1, proc.stderr[-3000:]  # a failed cell, the rest done
    md = (tmp_path / "cmp" / "report" / "report.md").read_text()
    assert "torch could not run" in md and "no such op on torch" in md


@pytest.mark.cross
def test_compare_quick_on_the_users_npz_and_on_synthetic_data(mnist, tmp_path):
    """The brought model on every backend with --data npz: (a slice of MNIST saved as the
    user's own arrays, labels 0..9) and --data synthetic: (speed only: no accuracy)."""
    own = tmp_path / "own.npz"
    np.savez(
        own,
        x_train=mnist.x_train[:1280] / 255.0,
        y_train=mnist.y_train[:1280],
        x_test=mnist.x_test[:500] / 255.0,
        y_test=mnist.y_test[:500],
    )
    for data, accuracy in [(f"npz:{own}", True), ("synthetic:28x28:10:1280", False)]:
        out = tmp_path / data.split(":")[0]
        # two backends: the data path is the same on each (test time: tox in 20 minutes)
        proc = compare(
            out, "examples/rowconv.py:build", "--data", data, "--backends", "jax", "torch"
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs = [
            json.loads(p.read_text())
            for p in (out / "cmp" / "runs").rglob("*.json")
            if p.name != "rounds.json"
        ]
        assert len(runs) == 2 and {r["config"]["dataset"] for r in runs} == {data}
        accuracies = [r["final_test_accuracy"] for r in runs]
        assert all((a is not None) is accuracy for a in accuracies)
        md = (out / "cmp" / "report" / "report.md").read_text()
        assert ("not applicable (no test accuracy: synthetic data)" in md) is not accuracy
