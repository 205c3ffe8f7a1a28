"""A model the user brings (``--model MODULE:FUNCTION`` or ``file.py:FUNCTION``): every
bad one is one line naming --model, exit code 2 and nothing written; a good one trains."""

import json
from pathlib import Path

import numpy as np
import pytest
from test_cli_run import assert_refused, run

MODELS = Path(__file__).parents[1] / "data" / "brought_models.py"


@pytest.mark.parametrize(
    "reference, words",
    [
        ("no/such/file.py:build", ["--model no/such/file.py:build", "no such file"]),
        ("no_such_module_xyz:build", ["module 'no_such_module_xyz' cannot be found"]),
        ("file.py", ["unknown model"]),
        ("{models}:1abc", ["not MODULE:FUNCTION"]),
        ("{models}:missing", ["has no function 'missing'"]),
        ("{models}:NOT_CALLABLE", ["has no function 'NOT_CALLABLE'"]),
        ("{models}:raises", ["the function raised RuntimeError: this layer needs a GPU"]),
        ("{models}:not_a_model", ["returned a Dense, not a keras.Model"]),
        ("{models}:three_classes", ["output shape (None, 3)", "one logit per class"]),
        ("{models}:wrong_input", ["(32, 32, 3) cannot hold a 28x28"]),
    ],
)
def test_bad_brought_model_is_one_line(backend, tmp_path, reference, words):
    if backend != "jax":  # the checks are the suite's, not the backend's: run once
        pytest.skip("backend-independent refusals, checked under jax")
    out = tmp_path / "out"
    model = reference.format(models=MODELS)
    proc = run("--backend", backend, "--model", model, "--out", str(out))
    assert_refused(proc, out, *words)
    if "{models}" in reference and "1abc" not in reference:
        assert "--model" in proc.stderr


def test_brought_model_trains_with_its_input_layout(backend, tmp_path):
    """good() takes (784,) vectors: the images are reshaped to fit; the result names
    the model with its source hash and counts its size and FLOPs."""
    out = tmp_path / "out"
    model = f"{MODELS}:good"
    proc = run(
        "--backend", backend, "--model", model, "--epochs", "1", "--train-examples", "512",
        "--test-examples", "200", "--batch-size", "64", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (card,) = out.glob("brought/*/card.json")
    card = json.loads(card.read_text())
    assert card["params"] == 7_850 and card["flops_per_example"] == 15_680
    (result,) = [p for p in out.glob("*/*.json")]
    blob = json.loads(result.read_text())
    assert blob["config"]["model"] == f"{model}#{card['source_hash']}"
    assert blob["model"]["params"] == 7_850 and blob["status"] == "ok"
    assert blob["model"]["target_accuracy"] is None and blob["time_to_accuracy_s"] is None


def test_changed_source_is_refused(backend, tmp_path):
    """A pinned name whose source changed since is refused, not trained as the old one."""
    source = tmp_path / "mine.py"
    source.write_text(MODELS.read_text())
    out = tmp_path / "out"
    proc = run("--backend", backend, "--model", f"{source}:good#00000000", "--out", str(out))
    assert_refused(proc, out, "source changed since the run started")


def _npz(tmp_path, **change):
    rng = np.random.default_rng(0)
    a = {
        "x_train": rng.random((256, 8, 8), dtype=np.float32),
        "y_train": rng.integers(0, 4, 256),
        "x_test": rng.random((64, 8, 8), dtype=np.float32),
        "y_test": rng.integers(0, 4, 64),
        **change,
    }
    path = tmp_path / "mine.npz"
    np.savez(path, **{k: v for k, v in a.items() if v is not None})
    return f"npz:{path}"


@pytest.mark.parametrize(
    "change, words",
    [
        ({"x_test": None}, ["lacks x_test"]),
        ({"y_train": np.zeros(255, int)}, ["y_train has shape (255,)"]),
        ({"x_train": np.full((256, 8, 8), np.nan, np.float32)}, ["NaN or infinite"]),
        ({"y_test": -np.ones(64, int)}, ["negative labels"]),
    ],
)
def test_bad_npz_data_is_one_line(backend, tmp_path, change, words):
    if backend != "jax":
        pytest.skip("backend-independent refusals, checked under jax")
    out = tmp_path / "out"
    data = _npz(tmp_path, **change)
    proc = run("--backend", backend, "--model", f"{MODELS}:good", "--data", data, "--out", str(out))
    assert_refused(proc, out, "--data npz:", *words)


@pytest.mark.parametrize(
    "model, data, words",
    [
        ("mlp", "synthetic:32x32x3:10", ["model mlp is built for 28x28 images"]),
        ("mlp", "synthetic:784:12", ["in 12"]),  # labels beyond the registry model's 10
        ("{models}:good", "synthetic:32x32", ["not synthetic:SHAPE:CLASSES"]),
    ],
)
def test_data_a_model_cannot_take_is_refused(backend, tmp_path, model, data, words):
    out = tmp_path / "out"
    proc = run("--backend", backend, "--model", model.format(models=MODELS), "--data", data,
               "--out", str(out))  # fmt: skip
    assert_refused(proc, out, f"--data {data}", *words)


def test_brought_model_trains_on_its_own_npz_and_on_synthetic_data(backend, tmp_path):
    """good() is built for each dataset's example shape and classes; synthetic data has
    no accuracy (null, never a number)."""
    source = tmp_path / "flat.py"
    source.write_text(
        "import keras\n"
        "def build(input_shape, num_classes):\n"
        "    inputs = keras.Input(shape=input_shape)\n"
        "    x = keras.layers.Flatten()(inputs)\n"
        "    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))\n"
    )
    for data, classes, accuracy in [(_npz(tmp_path), 4, True), ("synthetic:5x5x2:3:640", 3, False)]:
        out = tmp_path / f"out-{classes}"
        proc = run("--backend", backend, "--model", f"{source}:build", "--data", data,
                   "--epochs", "1", "--batch-size", "64", "--out", str(out))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        (result,) = list(out.glob("*/*.json"))
        blob = json.loads(result.read_text())
        assert blob["config"]["dataset"] == data and blob["status"] == "ok"
        features = 64 if classes == 4 else 50
        assert blob["model"]["params"] == features * classes + classes
        assert (blob["final_test_accuracy"] is not None) is accuracy


def test_timing_check_and_sweep_take_a_brought_model(backend, tmp_path):
    if backend != "jax":
        pytest.skip("the commands' plumbing, checked under jax")
    import subprocess
    import sys

    model = f"{MODELS}:good"
    timing = subprocess.run(
        [sys.executable, "-m", "suite", "timing-check", "--backend", backend, "--model", model,
         "--steps", "8", "--blocks", "2"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert timing.returncode == 0, timing.stderr[-2000:]
    assert f"{model}#" in timing.stdout
    assert "the plain fit() one call per epoch" in timing.stdout  # the epoch-boundary arm
    sweep = subprocess.run(
        [sys.executable, "-m", "suite", "sweep", "--backend", backend, "--model", model,
         "--train-examples", "640", "--out", str(tmp_path / "sweep")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    assert len(list((tmp_path / "sweep").glob("*/sweep-*.json"))) == 1
