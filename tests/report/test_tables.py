"""Speed, accuracy, peak, Keras ÷ native and scaling tables from hand-built results."""

from dataclasses import replace

import pytest
from report_fixtures import cells_of, make_run

from suite.core.results import write_result
from suite.report.build import build_report
from suite.report.collect import collect
from suite.report.groups import group, variant
from suite.report.render import markdown
from suite.report.tables import speed_rows
from suite.report.text import speed_sentence


def test_speed_rows_rank_only_beyond_ci_and_threshold(results_dir):
    cells = cells_of(results_dir)
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
    rows = speed_rows(cells_of(d), "softmax", variant(collect([d]).runs[0].config))
    assert rows[1]["ratio"].low > 1  # the CI excludes 1 ...
    assert rows[1]["verdict"] == "indistinguishable"  # ... but 3% is under the threshold


def test_runs_not_trained_side_by_side_are_not_paired(tmp_path):
    d = tmp_path / "r"
    for backend, ms, sched in (("jax", 1.0, "a"), ("torch", 2.0, "b")):
        r = make_run(backend, "softmax", 0, ms, 0.92, schedule=sched)
        write_result(d / f"{r.cell}.json", r)
    rows = speed_rows(cells_of(d), "softmax", variant(collect([d]).runs[0].config))
    q = rows[1]["ratio"]
    assert q.low is None and "unpaired" in q.method and rows[1]["verdict"] == "indistinguishable"


def test_accuracy_is_compared_paired_by_seed(results_dir):
    report = build_report([results_dir])
    acc = {a["backend"]: a for a in report["devices"][0]["accuracy"]}
    d = acc["torch"]["difference"]
    assert d.n == 3 and d.mean == pytest.approx(0.0, abs=1e-12) and d.equivalent
    assert acc["jax"]["difference"] is None  # jax is the reference here (fastest)


def test_repetitions_of_one_seed_are_one_accuracy_sample_not_five(tmp_path):
    """compare --repeat trains seed 0 again: a new timing, the same accuracy. Five
    copies of one difference must not make an interval (it would have zero width)."""
    d = tmp_path / "r"
    for rep in range(5):
        for backend, ms, acc in (("jax", 1.0, 0.92), ("torch", 2.0, 0.9199)):
            r = make_run(backend, "softmax", 0, ms, acc, schedule=f"s{rep}", repeat=rep)
            write_result(d / f"{backend}-{rep}.json", r)
    report = build_report([d])
    acc = {a["backend"]: a for a in report["devices"][0]["accuracy"]}
    assert acc["torch"]["difference"].n == 1 and acc["torch"]["difference"].low is None
    assert acc["torch"]["n"] == 1
    speed = {r["backend"]: r for rows in report["devices"][0]["speed"].values() for r in rows}
    assert speed["torch"]["ratio"].pi_low is not None  # five runs: a rerun interval
    md = markdown(report)
    assert "1 seed: cannot tell" in md and "/5 runs)" in md and "5 seeds" not in md


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
    cells = cells_of(d)
    assert len(cells) == 2  # 1-epoch and 2-epoch runs are separate rows
    one_epoch = next(runs for k, runs in cells.items() if "epochs=8," in k[3])
    assert len(one_epoch) == 1 and one_epoch[0].final_test_accuracy == 0.93


def test_one_percent_of_peak_denominator_per_machine(tmp_path):
    d = tmp_path / "r"
    for backend, peak in (("jax", 150.0), ("torch", 200.0)):
        r = make_run(backend, "softmax", 0, 1.0, 0.92)
        env = {**r.environment, "settings": {"matmul_peak_gflops": peak}}
        write_result(d / f"{backend}.json", replace(r, environment=env))
    rows = speed_rows(cells_of(d), "softmax", variant(collect([d]).runs[0].config))
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


def test_scaling_pairs_n_devices_with_one_device_of_the_same_loop(tmp_path):
    from suite.report.tables import scaling_rows

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
    assert "Scaling over devices" in md and "| mlp | jax | 1 | 2 |" in md


def test_scaling_gains_the_host_count_and_keeps_host_groups_apart(tmp_path):
    """Two hosts of one device each are their own row (N = 2 in all), beside one host
    of two devices; the host group is its own variant, never ranked with one host's."""
    from suite.report.tables import scaling_rows

    def on(hosts, devices, run):
        return replace(run, config={**run.config, "hosts": hosts, "devices": devices})

    runs = [
        on(1, 1, make_run("jax", "mlp", 0, 1.0, 0.97)),
        on(1, 2, make_run("jax", "mlp", 0, 1.6, 0.97)),
        on(2, 1, make_run("jax", "mlp", 0, 4.0, 0.97)),  # 4x the time per example
    ]
    (cells,) = group(runs).values()
    rows = scaling_rows(cells)
    assert [(r["hosts"], r["devices"]) for r in rows] == [(1, 2), (2, 2)]
    two_hosts = rows[1]
    assert two_hosts["ratio"].low < 0.25 < two_hosts["ratio"].high
    assert two_hosts["efficiency"].ratio == pytest.approx(two_hosts["ratio"].ratio / 2)
    assert variant(runs[2].config) != variant(runs[0].config)  # never ranked together
    assert "hosts=2" in variant(runs[2].config)
    for i, r in enumerate(runs):
        write_result(tmp_path / f"{i}.json", r)
    md = markdown(build_report([tmp_path]))
    assert "| mlp | jax | 2 | 2 |" in md and "| mlp | jax | 1 | 2 |" in md


def test_memory_shows_gpu_memory_only_on_a_gpu_and_unknown_when_not_measured():
    from suite.report.sections import memory_header, memory_text

    assert memory_text({"peak_rss_mb": 2000.0, "on_gpu": False, "peak_device_mb": None}) == (
        "2,000"
    )
    gpu = {"peak_rss_mb": 2000.0, "on_gpu": True, "peak_device_mb": 70.0}
    assert memory_text(gpu) == "2,000; 70.0"
    assert memory_text({**gpu, "peak_device_mb": None}) == "2,000; ?"
    assert memory_header({"speed": {("m", "v"): [gpu]}}) == "peak memory, MiB: RSS; GPU"
    assert memory_header({"speed": {("m", "v"): [{**gpu, "on_gpu": False}]}}) == (
        "peak memory, MiB"
    )
