"""compare's plan: resume, epochs, the cells it trains."""

from dataclasses import replace

from report_fixtures import make_run

from suite.core.results import write_result
from suite.measure.compare import CompareSettings, finished_cells, pending, plan_cells


def plan(backends, models, **kw):
    return plan_cells(CompareSettings(tuple(backends), tuple(models), (0,), **kw))


def test_compare_resume_skips_finished_cells(tmp_path):
    cells = plan(["jax", "torch"], ["softmax", "mlp"], quick=True)
    assert len(cells) == 4
    runs = tmp_path / "runs" / "x"
    done = make_run("jax", "softmax", 0, 1.0, 0.9)
    done = replace(done, cell=cells[0].cell_name())
    write_result(runs / f"{cells[0].cell_name()}.json", done)
    bad = replace(done, cell=cells[1].cell_name(), status="failed")
    write_result(runs / f"{cells[1].cell_name()}.json", bad)
    todo = pending(cells, finished_cells(tmp_path / "runs"), force=False)
    assert [c.cell_name() for c in todo] == [c.cell_name() for c in cells[1:]]
    assert len(pending(cells, finished_cells(tmp_path / "runs"), force=True)) == 4


def test_compare_epochs_override_new_cells():
    quick = plan(["jax"], ["softmax"], quick=True)
    longer = plan(["jax"], ["softmax"], quick=True, epochs=8)
    assert quick[0].resolved().epochs == 1 and longer[0].resolved().epochs == 8
    assert quick[0].cell_name() != longer[0].cell_name()  # a 1-epoch result is not reused


def test_quick_trains_heavy_workloads_on_their_subset_only():
    quick = plan(["jax"], ["mlp", "lstm", "resnet"], quick=True)
    assert [c.train_examples for c in quick] == [60_000, 12_800, 12_800]
    full = plan(["jax"], ["lstm"], quick=False)
    assert full[0].train_examples == 60_000  # a full run trains every image
    smaller = plan(["jax"], ["lstm"], quick=True, train_examples=1_024)
    assert smaller[0].train_examples == 1_024  # --train-examples lower still wins


def test_native_baselines_only_for_models_that_have_one():
    cells = plan(["jax"], ["mlp", "vit"], quick=True, native=True)
    assert [(c.model, c.impl) for c in cells] == [
        ("mlp", "keras"),
        ("vit", "keras"),
        ("mlp", "native"),
    ]


def test_a_batch_sweep_trains_every_size_the_same_steps_each_its_own_worker():
    from suite.measure.compare import BATCH_STEPS, worker_name

    cells = plan(["jax"], ["mlp"], batch_sizes=(32, 64, 2048))
    assert [c.batch_size for c in cells] == [32, 64, 2048]
    for c in cells:
        steps = c.epochs * (c.train_examples // c.batch_size)
        assert BATCH_STEPS <= steps < BATCH_STEPS + c.train_examples // c.batch_size
        assert c.inference_rounds == 0  # speed of training only
    # mlp's recipe batch is 64: that worker keeps the backend's name
    assert [worker_name(c) for c in cells] == ["jax-b32", "jax", "jax-b2048"]
