"""Report, compare-resume and diff on small result folders built here."""

import json
import subprocess
import sys
import zlib
from dataclasses import replace

import numpy as np
import pytest

from suite.compare import finished_cells, pending, plan_cells
from suite.config import RunConfig, validate
from suite.errors import SuiteError
from suite.report import build_report, csv_text, html, markdown, write_report
from suite.report_data import collect, diff_rows, group, speed_rows, speed_sentence, variant
from suite.results import ChunkRecord, EpochRecord, RunResult, write_result


def make_run(
    backend, model, seed, ms, acc, host="box", n=12, spread=0.02, status="ok", schedule="s1"
):
    """A result whose chunks ran in rounds 1..n of ``schedule``; each round's machine
    speed (a shared factor, seeded by round) hits every backend of that round alike."""
    cfg = validate(RunConfig(backend=backend, model=model, seed=seed), check_install=False)
    rng = np.random.default_rng(zlib.crc32(f"{backend}{model}{seed}{ms}".encode()))
    machine = 1 + 0.3 * (np.arange(n) >= n // 2)  # a 30% slow patch, shared by all
    steps = 20
    chunks = [
        ChunkRecord(
            1,
            steps,
            steps * ms / 1e3 * machine[i] * (1 + spread * rng.standard_normal()),
            0.0,
            4,
            i + 1,
            0.3,
        )
        for i in range(n)
    ]
    seconds = sum(c.seconds for c in chunks)
    batch = cfg.batch_size
    return RunResult(
        run_id="r1",
        cell=cfg.cell_name(),
        status=status,
        config={**cfg.__dict__},
        model={"params": 1, "flops_per_example": 1000, "target_accuracy": 0.9},
        environment={
            "backend": backend,
            "cpu": "TestCPU",
            "cpu_cores_logical": 2,
            "hostname": host,
            "device": {"kind": "cpu", "name": "cpu"},
            "framework": {backend: "1.0"},
            "settings": {"intra_op_threads": 2},
            "python": "3.11",
            "keras": "3.15",
            "os": "linux",
        },
        throughput_examples_per_s=n * steps * batch / seconds,
        ms_per_step=seconds / (n * steps) * 1e3,
        chunks=chunks,
        chunk_steps=steps,
        schedule=f"{schedule}/{model}/seed{seed}",
        first_step_ms=500.0,
        history=[EpochRecord(1, 0.3, 0.2, acc, 10.0, 100)],
        final_test_accuracy=acc,
        time_to_accuracy_s=10.0,
        peak_rss_bytes=2**30,
        misclassified=[[0, 3]],
    )


@pytest.fixture
def results_dir(tmp_path):
    d = tmp_path / "results" / "run1"
    for seed in range(3):
        for backend, ms in (("jax", 1.0), ("torch", 1.2), ("tensorflow", 1.0)):
            r = make_run(backend, "mlp", seed, ms, 0.97 + 0.001 * seed)
            write_result(d / f"{r.cell}.json", r)
    (d / "broken.json").write_text("{ not json")
    (d / "other.json").write_text('{"schema": "someone-else/v9"}')
    return tmp_path / "results"


def _cells(folder):
    return next(iter(group(collect([folder]).runs).values()))


def test_speed_rows_rank_only_beyond_ci_and_threshold(results_dir):
    cells = _cells(results_dir)
    var = next(iter({k[3] for k in cells}))
    rows = speed_rows(cells, "mlp", var)
    by = {r["backend"]: r for r in rows}
    assert {r["backend"] for r in rows[:2]} == {"jax", "tensorflow"}
    torch, second = by["torch"], rows[1]
    # paired by round, the shared 30% slow patch cancels: 1.2 recovered tightly
    assert torch["verdict"] == "slower" and torch["ratio"].ratio == pytest.approx(1.2, abs=0.02)
    assert torch["ratio"].low < 1.2 < torch["ratio"].high
    # 3 seeds = 3 runs: the interval with runs as units is the wider one here
    assert torch["ratio"].n == 3 and "runs as units" in torch["ratio"].method
    assert second["verdict"] == "indistinguishable"  # same speed: no ranking
    assert second["ratio"].low < 1 < second["ratio"].high
    sentence = speed_sentence(rows)
    assert "indistinguishable here" in sentence and "torch takes 1.2" in sentence
    assert torch["drift"] > 1.25  # the slow patch is shown, not hidden
    assert rows[0]["rounds"] == 36 and rows[0]["ratio"] is None


def test_small_real_difference_inside_threshold_is_not_ranked(tmp_path):
    d = tmp_path / "r"
    for backend, ms in (("jax", 1.0), ("torch", 1.03)):  # 3% apart: real but below 5%
        r = make_run(backend, "softmax", 0, ms, 0.92, spread=0.002, n=16)
        write_result(d / f"{r.cell}.json", r)
    rows = speed_rows(_cells(d), "softmax", variant(collect([d]).runs[0].config))
    assert rows[1]["ratio"].low > 1  # the CI excludes 1 ...
    assert rows[1]["verdict"] == "indistinguishable"  # ... but 3% is under the threshold


def test_runs_not_trained_side_by_side_are_not_paired(tmp_path):
    d = tmp_path / "r"
    for backend, ms, sched in (("jax", 1.0, "a"), ("torch", 2.0, "b")):
        r = make_run(backend, "softmax", 0, ms, 0.92, schedule=sched)
        write_result(d / f"{r.cell}.json", r)
    rows = speed_rows(_cells(d), "softmax", variant(collect([d]).runs[0].config))
    q = rows[1]["ratio"]
    assert q.low is None and "unpaired" in q.method and rows[1]["verdict"] == "indistinguishable"


def test_accuracy_is_compared_paired_by_seed(results_dir):
    report = build_report([results_dir])
    acc = {a["backend"]: a for a in report["devices"][0]["accuracy"]}
    d = acc["torch"]["difference"]
    assert d.n == 3 and d.mean == pytest.approx(0.0, abs=1e-12) and d.equivalent
    assert acc["jax"]["difference"] is None  # jax is the reference here (fastest)


def test_newer_result_of_a_seed_replaces_older_and_epochs_stay_apart(tmp_path):
    d = tmp_path / "r"
    old = make_run("jax", "softmax", 0, 1.0, 0.90)
    env = {**old.environment, "timestamp": "2026-01-01T00:00:00"}
    write_result(d / "old.json", replace(old, environment=env))
    newer = replace(
        old, environment={**env, "timestamp": "2026-02-01T00:00:00"}, final_test_accuracy=0.93
    )
    write_result(d / "new.json", newer)
    two = make_run("jax", "softmax", 0, 1.0, 0.95)
    two = replace(two, config={**two.config, "epochs": 2})
    write_result(d / "two.json", two)
    cells = _cells(d)
    assert len(cells) == 2  # 1-epoch and 2-epoch runs are separate rows
    one_epoch = next(runs for k, runs in cells.items() if "epochs=8," in k[3])
    assert len(one_epoch) == 1 and one_epoch[0].final_test_accuracy == 0.93


def test_report_files_self_contained_and_escaped(results_dir, tmp_path):
    evil = make_run("jax", "cnn", 0, 50.0, 0.99, host='<script>alert("x")</script>')
    write_result(results_dir / "run2" / f"{evil.cell}.json", evil)
    paths = write_report([results_dir], tmp_path / "report")
    assert sorted(p.name for p in paths) == [
        "report-grads.csv",
        "report.csv",
        "report.html",
        "report.md",
    ]
    page = (tmp_path / "report" / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and 'src="//' not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "data:image/png;base64," in page
    md = (tmp_path / "report" / "report.md").read_text()
    assert "2 files skipped" in md and "broken.json" in md and "someone-else/v9" in md
    # two machines: two device sections, never ranked against each other
    assert md.count("## cpu: cpu on TestCPU") == 2
    csv = (tmp_path / "report" / "report.csv").read_text().splitlines()
    assert len(csv) == 1 + 10 and csv[0].startswith("device,device_kind,device_name,cpu_model")
    header = csv[0].split(",")
    columns = (
        "cpu_cores keras_version framework_versions optimizer learning_rate batch_size epochs "
        "train_examples test_accuracy_fraction throughput_examples_per_s peak_rss_bytes"
    )
    assert set(columns.split()) <= set(header)


def test_report_on_partial_matrix_with_failed_cell(tmp_path):
    d = tmp_path / "r"
    write_result(d / "a.json", make_run("jax", "softmax", 0, 0.3, 0.92))
    failed = replace(
        make_run("torch", "softmax", 0, 1.0, 0.9, status="failed"),
        throughput_examples_per_s=None,
        chunks=[],
        final_test_accuracy=None,
        history=[],
        error="boom",
    )
    write_result(d / "b.json", failed)
    report = build_report([d])
    text = markdown(report)
    assert "softmax" in text and csv_text(report).count("\n") == 3
    page = html(report, {})
    assert '<th scope="col">backend</th>' in page and "<pre>" not in page


def test_empty_or_missing_folder_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="no such results folder"):
        collect([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SuiteError, match="nothing to report"):
        collect([tmp_path / "empty"])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "suite",
            "report",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "nothing to report" in proc.stderr
    assert not (tmp_path / "out" / "report.md").exists()


def test_unknown_schema_version_is_skipped(tmp_path):
    d = tmp_path / "r"
    write_result(d / "a.json", make_run("jax", "mlp", 0, 1.0, 0.97))
    data = json.loads((d / "a.json").read_text())
    data["schema_version"] = 7
    (d / "b.json").write_text(json.dumps(data))
    c = collect([d])
    assert len(c.runs) == 1 and "schema version 7" in c.skipped[0]


def test_compare_resume_skips_finished_cells(tmp_path):
    cells = plan_cells(["jax", "torch"], ["softmax", "mlp"], [0], "cpu", quick=True)
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


def test_workers_sharing_a_gpu_do_not_claim_it_whole():
    from suite.compare import worker_env

    gpu = worker_env({"PATH": "/bin"}, "gpu")
    assert gpu["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert gpu["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and gpu["PATH"] == "/bin"
    assert worker_env({"PATH": "/bin"}, "cpu") == {"PATH": "/bin"}


def test_compare_epochs_override_new_cells():
    quick = plan_cells(["jax"], ["softmax"], [0], "cpu", quick=True)
    longer = plan_cells(["jax"], ["softmax"], [0], "cpu", quick=True, epochs=8)
    assert quick[0].resolved().epochs == 1 and longer[0].resolved().epochs == 8
    assert quick[0].cell_name() != longer[0].cell_name()  # a 1-epoch result is not reused


def test_diff_flags_20_percent_slowdown_not_2_percent():
    old = [make_run("jax", "mlp", s, 1.0, 0.970, spread=0.01) for s in range(3)]
    new_slow = [make_run("jax", "mlp", s, 1.2, 0.970, spread=0.01) for s in range(3)]
    new_same = [make_run("jax", "mlp", s, 1.02, 0.970, spread=0.01) for s in range(3)]
    slow = diff_rows((old), (new_slow))
    assert len(slow) == 1 and slow[0]["step_flag"] == "slower"
    assert slow[0]["time_ratio"].ratio == pytest.approx(1.2, abs=0.02)
    same = diff_rows((old), (new_same))
    assert same[0]["step_flag"] == "" and not same[0]["acc_flag"]
    worse = [make_run("jax", "mlp", s, 1.0, 0.95, spread=0.01) for s in range(3)]
    assert diff_rows((old), (worse))[0]["acc_flag"]


def test_diff_with_one_run_a_side_flags_only_beyond_vm_drift():
    old = [make_run("jax", "mlp", 0, 1.0, 0.97)]
    assert (
        diff_rows((old), ([make_run("jax", "mlp", 0, 1.2, 0.97)]))[0]["step_flag"] == ""
    )  # 20%, no CI: within the drift seen between identical runs
    assert diff_rows((old), ([make_run("jax", "mlp", 0, 1.5, 0.97)]))[0]["step_flag"] == "slower"


def test_one_percent_of_peak_denominator_per_machine(tmp_path):
    d = tmp_path / "r"
    for backend, peak in (("jax", 150.0), ("torch", 200.0)):
        r = make_run(backend, "softmax", 0, 1.0, 0.92)
        env = {**r.environment, "settings": {"matmul_peak_gflops": peak}}
        write_result(d / f"{backend}.json", replace(r, environment=env))
    rows = speed_rows(_cells(d), "softmax", variant(collect([d]).runs[0].config))
    assert [r["peak_gflops"] for r in rows] == [200.0, 200.0]  # not 150 for jax
    env_rows = dict(build_report([d])["devices"][0]["environment"])
    assert (
        env_rows["% of peak denominator"].startswith("200.0 GFLOP/s")
        and "torch" in env_rows["% of peak denominator"]
    )


def test_keras_over_native_is_paired_by_round(tmp_path):
    d = tmp_path / "r"
    for impl, ms in (("keras", 1.3), ("native", 1.0)):
        r = make_run("jax", "mlp", 0, ms, 0.97, spread=0.005)
        r = replace(r, cell=f"{r.cell}-{impl}", config={**r.config, "impl": impl})
        write_result(d / f"{impl}.json", r)
    rows = build_report([d])["devices"][0]["native"]
    assert len(rows) == 1 and rows[0]["backend"] == "jax" and rows[0]["verdict"] == "slower"
    q = rows[0]["ratio"]
    assert q.low < 1.3 < q.high and q.n == 12 and "paired" in q.method


def test_diff_command_prints_the_table(tmp_path):
    for name, ms in (("old", 1.0), ("new", 1.5)):
        for seed in range(2):
            r = make_run("jax", "mlp", seed, ms, 0.97, spread=0.01)
            write_result(tmp_path / name / f"{r.cell}.json", r)
    proc = subprocess.run(
        [sys.executable, "-m", "suite", "diff", str(tmp_path / "old"), str(tmp_path / "new")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stderr
    assert "new/old time [95% CI]" in proc.stdout and "slower" in proc.stdout
    assert "1 of 1 cells changed beyond noise" in proc.stdout


@pytest.mark.parametrize(
    "blob, words",
    [
        (
            {
                "schema": "keras-backend-suite/grads",
                "schema_version": 2,
                "settings": {},
                "weights_identical": {},
                "float64_precision": {},
                "pairs": [{"model": 3}],
                "reference": [],
                "trajectory": [],
            },
            "pairs[0].model",
        ),  # fmt: skip
        (
            {"schema": "keras-backend-suite/grads", "schema_version": 2, "settings": []},
            "settings must be an object",
        ),  # fmt: skip
        (
            {
                "schema": "keras-backend-suite/sweep",
                "schema_version": 2,
                "backend": "jax",
                "model": "mlp",
                "modes": [],
                "overhead": {"ratio": "fast"},
            },
            "finite ratio",
        ),  # fmt: skip
        (
            {
                "schema": "keras-backend-suite/rounds",
                "schema_version": 1,
                "schedules": [{"turns": [{"wall_s": "1", "waiting_cpu_s": {}}]}],
            },
            "turns[0].wall_s",
        ),  # fmt: skip
    ],
)
def test_malformed_grads_sweep_and_rounds_files_are_named_and_skipped(results_dir, blob, words):
    bad = results_dir / "run1" / "bad.json"
    bad.write_text(json.dumps(blob))
    c = collect([results_dir])
    problems = [s for s in c.skipped if "bad.json" in s]
    assert len(problems) == 1 and "malformed" in problems[0] and words in problems[0]
    build_report([results_dir])  # and the report is still made


def _recipe_result(backend, acc, recipe="fastai-3v7"):
    from suite.recipes import RecipeResult, get_recipe

    r = get_recipe(recipe)
    return RecipeResult(
        recipe, backend, "cpu", 0, r.epochs, 12396, 2038, {r.epochs: acc}, acc, r.published,
        9.0, {"timestamp": "2026-01-01T00:00:00+00:00"},
    )  # fmt: skip


def _portability_blob(diff):
    from dataclasses import asdict

    from suite.portability import judge_transfer

    logits = np.linspace(-5, 5, 30).reshape(3, 10)
    rows = [
        judge_transfer("softmax", a, b, logits, logits + (diff if a == "jax" else 0))
        for a, b in (("jax", "torch"), ("torch", "jax"))
    ]
    return {
        "schema": "keras-backend-suite/portability",
        "schema_version": 1,
        "created": "2026-01-01T00:00:00Z",
        "train_examples": 512,
        "logit_rtol": 1e-5,
        "transfers": [asdict(r) for r in rows],
    }


def test_report_shows_recipes_and_portability_and_names_bad_files(tmp_path):
    from suite.recipes import write_recipe_result

    for backend, acc in (("torch", 0.9818), ("jax", 0.9818)):
        write_recipe_result(tmp_path / "recipes", _recipe_result(backend, acc))
    (tmp_path / "portability-1.json").write_text(json.dumps(_portability_blob(1e-3)))
    broken = {**_portability_blob(0.0), "transfers": [{"model": "softmax"}]}
    (tmp_path / "portability-2.json").write_text(json.dumps(broken))
    report = build_report([tmp_path])
    md = markdown(report)
    assert "| fastai-3v7 | 300 | 98.58% | 98.18% (-0.40) | 98.18% (-0.40) |" in md
    # a logit 1e-3 off is 20x the tolerance (1e-5 x 5): that transfer fails, and says so
    assert "1 of 2 transfers fail: softmax jax→torch." in md
    assert "| softmax | jax | torch | 1.00e-03 | 5.0e-05 | 0 / 3 | FAIL |" in md
    assert any("portability-2.json" in s and "malformed" in s for s in report["skipped"])
    assert "Misclassified" not in md  # no training runs, no gallery


def test_scaling_pairs_n_devices_with_one_device_of_the_same_loop(tmp_path):
    from suite.report_data import scaling_rows

    def on(devices, loop, run):
        return replace(run, config={**run.config, "devices": devices, "loop": loop})

    runs = [
        on(1, "fit", make_run("jax", "mlp", 0, 1.0, 0.97)),
        on(2, "fit", make_run("jax", "mlp", 0, 1.6, 0.97)),  # 1.6x the time per example
        on(2, "torch-ddp", make_run("torch", "mlp", 0, 2.0, 0.97)),
        on(1, "fit", make_run("torch", "mlp", 0, 1.0, 0.97)),  # fit(): not its baseline
    ]
    (cells,) = group(runs).values()
    (row,) = scaling_rows(cells)
    assert (row["backend"], row["devices"]) == ("jax", 2)
    q, eff = row["ratio"], row["efficiency"]
    assert q.low < 1 / 1.6 < q.high and q.high < 1  # paired by round: the slow patch cancels
    assert eff.ratio == pytest.approx(q.ratio / 2) and eff.high == pytest.approx(q.high / 2)
    for i, r in enumerate(runs):
        write_result(tmp_path / f"{i}.json", r)
    md = markdown(build_report([tmp_path]))
    assert "Scaling over devices" in md and "| mlp | jax | 2 |" in md
