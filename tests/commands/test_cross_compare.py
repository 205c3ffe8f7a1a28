"""`suite compare` end to end on a small slice: three backends, report, then resume."""

import json
import subprocess
import sys

import pytest

from suite.core.platform import FRAMEWORK_LOG, child_env


@pytest.mark.cross
def test_compare_small_matrix_then_resume(mnist, tmp_path):
    env = child_env()
    cmd = [
        sys.executable,
        "-m",
        "suite",
        "compare",
        "--models",
        "softmax",
        "--quick",
        "--native",
        "--backends",
        "jax",
        "torch",
        "--train-examples",
        "1024",
        "--out",
        str(tmp_path / "cmp"),
    ]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert first.returncode in (0, 1), first.stderr[-3000:]
    assert "4 cells (0 already done)" in first.stderr  # 2 backends x (Keras, native)
    # a quiet console: no framework log line, and it ends with its time and the report
    assert not [ln for ln in first.stderr.splitlines() if FRAMEWORK_LOG.match(ln)]
    lines = first.stderr.strip().splitlines()
    done = lines[-1] if first.returncode == 0 else lines[-2]  # 1: then why, as the last line
    assert done.startswith("compare done in ") and done.endswith("report.html")
    assert first.returncode == 0 or lines[-1].startswith("exit 1: ")
    report = tmp_path / "cmp" / "report"
    names = {p.name for p in report.iterdir()}
    csvs = {"report.csv", "report-rounds.csv", "report-grads.csv"}
    assert {"report.md", "report.html", *csvs} <= names
    assert {"report-throughput-0-softmax.png", "report-grads-heatmap.png"} <= names
    grads_csv = (report / "report-grads.csv").read_text().splitlines()
    assert grads_csv[0].startswith("comparison,model,dtype") and len(grads_csv) > 3
    md = (report / "report.md").read_text()
    assert "Which backend should I use?" in md and "Gradient equivalence" in md
    results = [p for p in (tmp_path / "cmp" / "runs").rglob("*.json") if p.name != "rounds.json"]
    assert len(results) == 8  # each cell in two worker processes: the A/A twins
    # the backends trained side by side: the same rounds, one schedule
    runs = [json.loads(p.read_text()) for p in results]
    rounds = {
        (r["config"]["backend"], r["config"]["impl"], r["config"]["process"]): [
            c["round"] for c in r["chunks"]
        ]
        for r in runs
    }
    assert {k[2] for k in rounds} == {0, 1}
    assert len({tuple(v) for v in rounds.values()}) == 1 and len(rounds["jax", "keras", 0]) >= 2
    assert len({r["schedule"] for r in runs}) == 1
    log = json.loads(next((tmp_path / "cmp" / "runs").rglob("rounds.json")).read_text())
    turns = log["schedules"][0]["turns"]
    firsts = [[t["backend"] for t in turns if t["round"] == i][0] for i in (1, 2, 3)]
    assert len(set(firsts)) > 1  # the order alternates between rounds
    assert "time ratio" in md and "examples/s" in md and "Keras ÷ native" in md
    assert "A/A control: the same program in two processes" in md
    assert "worker process inside" in (report / "report.csv").read_text()
    second = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert "4 cells (4 already done)" in second.stderr, second.stderr[-2000:]
    assert (
        len([p for p in (tmp_path / "cmp" / "runs").rglob("*.json") if p.name != "rounds.json"])
        == 8
    )


@pytest.mark.cross
def test_compare_policies_tuned_and_inference_side_by_side(mnist, tmp_path):
    """--dtype-policy mixed_bfloat16 --tuned: each backend trains in float32, in
    bfloat16 and (where a short sweep found a faster Keras mode) in its best mode, all
    in the same rounds; every cell times inference in rounds after training."""
    cmd = [
        sys.executable, "-m", "suite", "compare", "--models", "softmax", "--quick",
        "--train-examples", "1024", "--dtype-policy", "mixed_bfloat16", "--tuned",
        "--inference-rounds", "2", "--backends", "jax", "tensorflow", "--processes", "1",
        "--out", str(tmp_path / "cmp"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=1500)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "short sweeps first" in proc.stderr
    sweeps = list((tmp_path / "cmp" / "tuning").rglob("sweep-*.json"))
    assert len(sweeps) == 2  # one per backend, Keras modes only
    assert all("native" not in json.dumps(json.loads(p.read_text())["modes"]) for p in sweeps)
    tuned = int(proc.stderr.split("tuned: ")[1].split(" cells")[0])
    runs = [
        json.loads(p.read_text())
        for p in (tmp_path / "cmp" / "runs").rglob("*.json")
        if p.name != "rounds.json"
    ]
    assert len(runs) == 4 + tuned  # 2 backends x 2 policies, plus the tuned twins
    assert {r["config"]["dtype_policy"] for r in runs} == {"float32", "mixed_bfloat16"}
    assert len({r["schedule"] for r in runs}) == 1  # one schedule: paired by round
    ok = [r for r in runs if r["status"] == "ok"]
    assert ok and all(len(r["inference"]) == 2 for r in ok)
    assert all(r["predict_examples_per_s"] > 0 and r["single_p99_ms"] > 0 for r in ok)
    # the defaults and the bfloat16 cells take the same turns: inference in the same rounds
    inference_rounds = {
        tuple(i["round"] for i in r["inference"]) for r in ok if not r["config"]["tuned"]
    }
    assert len(inference_rounds) == 1
    md = (tmp_path / "cmp" / "report" / "report.md").read_text()
    assert "### Inference (predict() and one example)" in md
    assert "### Mixed precision against float32" in md
    assert ("### Each backend at its best (tuned)" in md) == (tuned > 0)
    assert "mixed_bfloat16" in (tmp_path / "cmp" / "report" / "report-grads.csv").read_text()
    assert (tmp_path / "cmp" / "report" / "report-inference.csv").is_file()


@pytest.mark.cross
def test_compare_repeat_makes_runs_the_units_and_records_the_noise(mnist, tmp_path):
    """--repeat 3 --gap 0: three independent runs of the matrix, every ratio's CI from
    runs as units with a rerun prediction interval, and every chunk's machine noise in
    report-rounds.csv and the report's noise section."""
    import csv

    cmd = [
        sys.executable, "-m", "suite", "compare", "--models", "softmax", "--quick",
        "--backends", "jax", "torch", "--train-examples", "1024",
        "--inference-rounds", "0", "--repeat", "3", "--gap", "0", "--processes", "1",
        "--out", str(tmp_path / "cmp"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=1200)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert "run 3 of 3" in proc.stderr
    results = [json.loads(p.read_text()) for p in (tmp_path / "cmp" / "runs").rglob("*.json")]
    cells = [r for r in results if "cell" in r]
    assert len(cells) == 6 and {r["config"]["repeat"] for r in cells} == {0, 1, 2}
    assert len({r["schedule"] for r in cells}) == 3  # three runs, not one run's rounds
    report = tmp_path / "cmp" / "report"
    rows = [r for r in csv.DictReader(open(report / "report.csv")) if r["time_ratio_ci_low"]]
    assert len(rows) == 3  # one row per cell of the slower backend, the group's CI on each
    row = rows[0]
    # the CI is the wider of runs as units and the paired rounds (suite.core.stats): runs
    # here unless a noisy run made its rounds' interval the wider one
    units, n = row["ci_units"], int(row["ci_n"])
    assert (units, n) == ("runs", 3) or (units == "rounds" and n > 3), (units, n)
    low, high = float(row["time_ratio_rerun_low"]), float(row["time_ratio_rerun_high"])
    ci = float(row["time_ratio_ci_low"]), float(row["time_ratio_ci_high"])
    ratio = float(row["time_ratio_to_fastest"])
    assert low < ratio < high and ci[0] < ratio < ci[1]
    if units == "runs":  # from the same 3 runs, a rerun's interval is the wider
        assert low < ci[0] < ci[1] < high
    chunks = list(csv.DictReader(open(report / "report-rounds.csv")))
    assert chunks and all(c["steal_s"] != "" and c["probe_ms"] != "" for c in chunks)
    md = (report / "report.md").read_text()
    assert "Machine noise during the runs" in md and "Reruns: runs as units" in md


@pytest.mark.cross
def test_compare_batch_sweep_of_two_sizes(mnist, tmp_path):
    """compare --batch-sizes: each size a worker of its own per backend in the same
    rounds; the report's verdict names the winner per size, with a table and a figure."""
    out = tmp_path / "bs"
    cmd = [sys.executable, "-m", "suite", "compare", "--models", "softmax", "--backends",
           "jax", "torch", "--batch-sizes", "32", "256", "--seeds", "0",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "jax-b32" in proc.stderr and "torch-b256" in proc.stderr  # a worker per size
    assert "not part of a batch sweep; skipped" in proc.stderr
    runs = [json.loads(p.read_text()) for p in (out / "runs").rglob("*.json")
            if p.name != "rounds.json"]  # fmt: skip
    assert sorted({r["config"]["batch_size"] for r in runs}) == [32, 256]
    md = (out / "report" / "report.md").read_text()
    assert "Batch size (speed only; accuracy is not judged across batch sizes): softmax: " in md
    assert "Batch sizes: throughput, step time and memory" in md
    assert (out / "report" / "report-batches-0-softmax.png").is_file()
