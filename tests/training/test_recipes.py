"""Notebook recipes: their data, order and table (backend-neutral), and one real short
run on the backend tox chose."""

import json
from dataclasses import replace

import numpy as np
import pytest

from suite.core.errors import SuiteError
from suite.core.recipes import RECIPES, checkpoints, epoch_order, get_recipe, recipe_data
from suite.core.schemas import RecipeResult, recipe_result_from_dict
from suite.report.collect import load_recipe_results
from suite.report.tables import recipe_rows
from suite.training.recipe import write_recipe_result


def test_every_recipe_names_a_notebook_and_valid_parts():
    from models import MODELS
    from suite.core.tasks import TASKS

    for r in RECIPES.values():
        assert r.model in MODELS and r.task in TASKS and r.epochs > 0 and r.batch_size > 0
        assert r.notebook[:3] in {"000", "001", "002", "003"}
        if r.published is not None:
            assert max(r.published_checkpoints) == r.epochs or r.name == "logreg-sgd"
    with pytest.raises(SuiteError, match="--recipe 'x'"):
        get_recipe("x")


def test_checkpoints_follow_the_notebook_rhythm():
    assert checkpoints(get_recipe("fastai-3v7"), 300) == list(range(30, 301, 30))
    assert checkpoints(get_recipe("fastai-3v7"), 45) == [30, 45]  # the last epoch always
    assert checkpoints(get_recipe("d2l-softmax"), 3) == [1, 2, 3]


def test_order_is_fixed_without_shuffling_and_seeded_with_it():
    assert np.array_equal(epoch_order(5, 0, 1, shuffle=False), np.arange(5))
    a, b = epoch_order(100, 0, 1, True), epoch_order(100, 0, 2, True)
    assert sorted(a) == list(range(100)) and not np.array_equal(a, b)
    assert np.array_equal(a, epoch_order(100, 0, 1, True))


def test_recipe_data_split_and_normalisation(mnist):
    logreg = recipe_data(get_recipe("logreg-sgd"), mnist, 0)
    assert len(logreg.y_train) == 50000 and len(logreg.y_test) == 10000  # random_split 50k
    assert 0 <= logreg.x_train.min() and logreg.x_train.max() <= 1
    torchish = recipe_data(get_recipe("pytorch-mlp"), mnist, 0, train_examples=1000)
    # Normalize((0.1307,), (0.3081,)): MNIST's own mean and std
    assert abs(float(torchish.x_test.mean())) < 0.05
    assert abs(float(torchish.x_test.std()) - 1) < 0.05
    assert len(torchish.y_train) == 1000


def _result(recipe, backend, acc, seed=0, stamp="2026-01-01"):
    r = get_recipe(recipe)
    return RecipeResult(
        recipe,
        backend,
        "cpu",
        seed,
        r.epochs,
        100,
        100,
        {r.epochs: acc},
        acc,
        r.published,
        1.0,
        {"timestamp": stamp},
    )


def test_rows_show_the_notebook_figure_and_the_gap():
    rows = recipe_rows(
        [_result("fastai-3v7", "jax", 0.98), _result("fastai-3v7", "jax", 0.99, seed=1)],
        ["jax", "torch"],
    )
    # mean of the seeds, and its gap to the notebook's 98.58% in points
    assert rows == [["fastai-3v7", "300", "98.58%", "98.50% (-0.08), 2 seeds 98.00%–99.00%", "—"]]


def test_results_round_trip_newest_wins_and_malformed_is_refused(tmp_path):
    old = _result("d2l-softmax", "torch", 0.90, stamp="2026-01-01")
    new = _result("d2l-softmax", "torch", 0.92, stamp="2026-02-01")
    write_recipe_result(tmp_path / "a", old)
    path = write_recipe_result(tmp_path / "b", new)
    with pytest.raises(SuiteError, match="never overwritten"):
        write_recipe_result(tmp_path / "b", new)
    back = load_recipe_results([tmp_path])
    assert back == [new]  # frozen, typed, epochs as int keys
    data = json.loads(path.read_text())
    with pytest.raises(SuiteError, match="malformed"):
        recipe_result_from_dict({**data, "final_accuracy": 7})
    with pytest.raises(SuiteError, match="malformed"):
        recipe_result_from_dict({k: v for k, v in data.items() if k != "accuracy"})


def test_mnist_loss_by_hand(backend):
    import keras

    from suite.training.recipe import mnist_loss

    y = np.array([[1.0], [0.0]], np.float32)
    half = keras.ops.convert_to_numpy(mnist_loss(y, np.zeros((2, 1), np.float32)))
    assert np.allclose(half, 0.5)
    two = keras.ops.convert_to_numpy(mnist_loss(y, np.array([[2.0], [-2.0]], np.float32)))
    assert np.allclose(two, 1 - 1 / (1 + np.exp(-2.0)), atol=1e-6)  # 0.1192 each


def test_a_short_recipe_run_learns(backend, mnist):
    from suite.training.recipe import run_recipe

    recipe = replace(get_recipe("fastai-3v7"), eval_every=1)
    data = recipe_data(recipe, mnist, 0)
    result = run_recipe(recipe, data, 0, 2, backend, "cpu", {})
    assert result.train_examples == 12396 and result.test_examples == 2038
    assert list(result.accuracy) == [1, 2] and result.final_accuracy > 0.8


def test_recipes_compare_runs_children_and_prints_the_table(backend, tmp_path):
    import subprocess
    import sys

    from suite.core.platform import child_env

    out = tmp_path / "rec"
    base = [sys.executable, "-m", "suite", "recipes", "--compare", "--out", str(out)]
    proc = subprocess.run(
        [*base, "d2l-softmax", "--epochs", "1", "--backends", backend],
        capture_output=True, text=True, env=child_env(), timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"[{backend}] d2l-softmax {backend}: epoch 1/1" in proc.stderr  # progress
    row = next(line for line in proc.stdout.splitlines() if line.startswith("d2l-softmax  1"))
    assert "%" in row.split()[-1]
    for bad, words in ((["lenet"], "unknown recipe 'lenet'"), (["--epochs", "0"], "--epochs")):
        refused = subprocess.run(
            [*base, *bad], capture_output=True, text=True, env=child_env(), timeout=120
        )
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
