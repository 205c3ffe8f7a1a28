"""Inference and mixed-precision rows, sections and verdict words from hand-built results."""

import numpy as np
import pytest
from report_fixtures import cells_of, make_run, with_inference

from suite.core.results import write_result
from suite.report.build import build_report
from suite.report.export import inference_csv_rows
from suite.report.groups import variant
from suite.report.inference import inference_rows
from suite.report.precision import policy_rows
from suite.report.render import markdown
from suite.report.verdict import inference_words


def _inference_dir(tmp_path, spec, seeds=3):
    """spec: backend -> (training ms/step, predict µs/example, single-example ms)."""
    d = tmp_path / "r"
    for seed in range(seeds):
        for backend, (ms, us, single) in spec.items():
            r = with_inference(make_run(backend, "mlp", seed, ms, 0.97), us, single)
            write_result(d / f"{r.cell}.json", r)
    return d


def _rows(d):
    cells = cells_of(d)
    return inference_rows(cells, "mlp", next(iter({k[3] for k in cells})))


def test_inference_ratios_are_paired_by_round_and_ranked_beyond_noise(tmp_path):
    spec = {"jax": (1.0, 2.0, 0.5), "torch": (1.0, 6.0, 0.52), "tensorflow": (1.0, 3.0, 1.5)}
    rows = _rows(_inference_dir(tmp_path, spec))
    by = {r["backend"]: r for r in rows}
    assert [r["backend"] for r in rows] == ["jax", "tensorflow", "torch"]  # predict() order
    # the shared 30% slow patch cancels in the pairing: 3x and 1.5x recovered tightly
    assert by["torch"]["predict_ratio"].ratio == pytest.approx(3.0, rel=0.03)
    assert by["tensorflow"]["predict_ratio"].ratio == pytest.approx(1.5, rel=0.03)
    assert by["torch"]["predict_verdict"] == "slower"
    assert "runs as units" in by["torch"]["predict_ratio"].method  # 3 runs
    # latency: jax lowest; torch 4% above it is inside the 5% threshold: not ranked
    assert by["jax"]["single_ratio"] is None and by["jax"]["single_verdict"] == "lowest"
    assert by["torch"]["single_verdict"] == "indistinguishable"
    assert by["tensorflow"]["single_ratio"].ratio == pytest.approx(3.0, rel=0.05)
    assert by["tensorflow"]["single_verdict"] == "slower"
    assert by["jax"]["calls"] == 3 * 4 * 50 and by["jax"]["rounds"] == 12
    assert by["jax"]["single_median_ms"] <= by["jax"]["single_p99_ms"]
    words = inference_words(rows)
    assert words.startswith("predict() jax, 1.5") and "faster than tensorflow" in words
    assert "one example jax" in words and "indistinguishable here from torch" in words


def test_inference_of_separate_schedules_is_not_paired(tmp_path):
    d = tmp_path / "r"
    for backend, sched, us in (("jax", "a", 2.0), ("torch", "b", 4.0)):
        r = with_inference(make_run(backend, "mlp", 0, 1.0, 0.97, schedule=sched), us, 0.5)
        write_result(d / f"{r.cell}.json", r)
    torch = _rows(d)[1]
    assert "unpaired" in torch["predict_ratio"].method and torch["predict_ratio"].low is None
    assert torch["predict_verdict"] == "indistinguishable"  # one run each: cannot rank


def test_inference_csv_recomputes_the_predict_ratio(tmp_path):
    spec = {"jax": (1.0, 2.0, 0.5), "torch": (1.0, 5.0, 0.5)}
    d = _inference_dir(tmp_path, spec, seeds=1)
    report = build_report([d])
    rows = inference_csv_rows(report_runs := [r for r in _runs(d)])
    assert len(rows) == 2 * 4 and report_runs
    by = {}
    for r in rows:
        by.setdefault(r["backend"], {})[(r["run"], r["round"])] = r["predict_examples_per_s"]
    keys = sorted(set(by["jax"]) & set(by["torch"]))
    ratio = float(np.exp(np.mean([np.log(by["jax"][k] / by["torch"][k]) for k in keys])))
    row = next(r for r in report["csv"] if r["backend"] == "torch")
    assert row["predict_time_ratio_to_fastest"] == pytest.approx(ratio)
    assert row["predict_time_ratio_to_fastest"] == pytest.approx(2.5, rel=0.1)  # 4 rounds
    assert row["single_example_median_ms"] > 0 and row["dtype_policy"] == "float32"


def _runs(d):
    from suite.report.collect import collect

    return collect([d]).runs


def _policy_dir(tmp_path, speedup, drop=0.0, seeds=3):
    d = tmp_path / "r"
    for seed in range(seeds):
        for policy, ms, acc in (
            ("float32", 1.0, 0.97),
            ("mixed_bfloat16", 1.0 / speedup, 0.97 - drop),
        ):
            for backend in ("jax", "torch"):
                r = make_run(backend, "mlp", seed, ms, acc + 0.003 * seed, policy=policy)
                write_result(d / f"{r.cell}.json", r)
    return d


def test_mixed_policy_is_paired_with_its_float32_twin_never_pooled(tmp_path):
    d = _policy_dir(tmp_path, speedup=1.5)
    cells = cells_of(d)
    assert len({k[3] for k in cells}) == 2  # two variants: the policies are grouped apart
    rows = policy_rows(cells)
    assert [(r["backend"], r["policy"]) for r in rows] == [
        ("jax", "mixed_bfloat16"),
        ("torch", "mixed_bfloat16"),
    ]
    r = rows[0]
    assert r["throughput"].ratio == pytest.approx(1.5, rel=0.03) and r["verdict"] == "faster"
    assert r["base_variant"] == variant({**_runs(d)[0].config, "dtype_policy": "float32"})
    assert r["difference"].mean == pytest.approx(0.0) and r["difference"].n == 3
    assert r["half_support"] == "no bf16 units (test)"
    page = markdown(build_report([d]))
    assert "### Mixed precision against float32" in page
    assert "Ran without native units for its half type: no bf16 units (test)." in page
    assert "Dtype policies float32, mixed_bfloat16 (no bf16 units (test)), never pooled." in page


def test_mixed_policy_slower_and_less_accurate_is_said_so(tmp_path):
    rows = policy_rows(cells_of(_policy_dir(tmp_path, speedup=0.6, drop=0.01)))
    r = rows[0]
    assert r["verdict"] == "slower" and r["throughput"].high < 1
    assert r["difference"].high < 0  # 1 point lower on every seed: the CI excludes 0


def test_no_float32_twin_no_policy_row(tmp_path):
    d = tmp_path / "r"
    r = make_run("jax", "mlp", 0, 1.0, 0.97, policy="mixed_bfloat16")
    write_result(d / f"{r.cell}.json", r)
    assert policy_rows(cells_of(d)) == []


def _tuned_dir(tmp_path, torch_tuned_ms):
    """jax 1.0 ms/step at its default (its best); torch 1.2 at its default and
    ``torch_tuned_ms`` with jit on, all in the same rounds, 3 seeds."""
    d = tmp_path / "t"
    for seed in range(3):
        for backend, ms, settings in (
            ("jax", 1.0, {}),
            ("torch", 1.2, {}),
            ("torch", torch_tuned_ms, {"jit": "on", "tuned": "jit=on"}),
        ):
            r = make_run(backend, "mlp", seed, ms, 0.97, **settings)
            write_result(d / f"{r.cell}.json", r)
    return d


def test_tuning_that_changes_the_winner_is_said_so(tmp_path):
    report = build_report([_tuned_dir(tmp_path, torch_tuned_ms=0.8)])
    d = report["devices"][0]
    ((key, rows),) = d["tuned"].items()
    assert [(r["backend"], r["mode"]) for r in rows] == [("torch", "jit=on"), ("jax", "default")]
    assert rows[1]["ratio"].ratio == pytest.approx(1.25, rel=0.03)  # jax 1.0 vs torch 0.8
    assert rows[0]["gain"].ratio == pytest.approx(1.5, rel=0.03)  # torch 1.2 -> 0.8
    assert rows[1]["gain"] is None
    (verdict,) = d["verdict"]  # the tuned group is no workload of its own
    assert verdict.use == "jax"
    assert "tuning changes the winner (defaults: jax)" in verdict.tuned
    assert verdict.tuned.startswith("torch: 1.2") and "torch jit=on, jax default" in verdict.tuned
    page = markdown(report)
    assert "### Each backend at its best (tuned)" in page
    assert "each backend at its best (compare --tuned)" in page


def test_tuning_that_keeps_the_winner_is_said_so(tmp_path):
    d = build_report([_tuned_dir(tmp_path, torch_tuned_ms=1.1)])["devices"][0]
    (verdict,) = d["verdict"]
    assert "same winner as at the defaults" in verdict.tuned
    assert "changes the winner" not in verdict.tuned


def test_no_tuned_cells_no_tuned_column(results_dir):
    report = build_report([results_dir])
    assert report["devices"][0]["tuned"] == {}
    assert "at its best" not in markdown(report)


def test_mixed_policy_accuracies_are_means_as_their_difference_is(tmp_path):
    """One seed far off (as resnet's seed 2 was): the shown accuracies are the means
    over seeds, so that their gap is the paired difference beside them, not medians
    that hide the seed."""
    d = tmp_path / "r"
    for seed, (base, mixed) in enumerate(((0.11, 0.11), (0.11, 0.11), (0.19, 0.25))):
        for policy, acc in (("float32", base), ("mixed_bfloat16", mixed)):
            r = make_run("jax", "mlp", seed, 1.0, acc, policy=policy)
            write_result(d / f"{r.cell}.json", r)
    (row,) = policy_rows(cells_of(d))
    assert row["accuracy_base"] == pytest.approx((0.11 + 0.11 + 0.19) / 3)
    assert row["accuracy_mixed"] - row["accuracy_base"] == pytest.approx(row["difference"].mean)
