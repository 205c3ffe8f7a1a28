"""The report files: self-contained, escaped, and honest about what they skipped."""

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from report_fixtures import make_run

from suite.core.errors import SuiteError
from suite.core.results import write_result
from suite.report.build import build_report
from suite.report.collect import collect
from suite.report.export import csv_text
from suite.report.render import html, markdown, write_report


def test_report_files_self_contained_and_escaped(results_dir, tmp_path):
    evil = make_run("jax", "cnn", 0, 50.0, 0.99, host='<script>alert("x")</script>')
    write_result(results_dir / "run2" / f"{evil.cell}.json", evil)
    paths = write_report([results_dir], tmp_path / "report")
    names = {p.name for p in paths}
    assert names >= {
        "report.md",
        "report.html",
        "report.csv",
        "report-rounds.csv",
        "report-throughput-0-mlp.png",
    }
    md = (tmp_path / "report" / "report.md").read_text()
    for png in (n for n in names if n.endswith(".png")):
        assert f"]({png})" in md  # report.md links every figure written beside it
    page = (tmp_path / "report" / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and 'src="//' not in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "data:image/png;base64," in page
    assert "2 files skipped" in md and "broken.json" in md and "someone-else/v9" in md
    # two machines: two device sections, never ranked against each other
    assert md.count("## Measurements: CPU: TestCPU, 2 logical cores, host ") == 2
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
    assert "torch could not run softmax: boom" in text
    # no figure files given: the gallery's section is left out, not an empty heading
    assert "Misclassified" not in text
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
    from suite.core.recipes import get_recipe
    from suite.core.schemas import RecipeResult

    r = get_recipe(recipe)
    return RecipeResult(
        recipe, backend, "cpu", 0, r.epochs, 12396, 2038, {r.epochs: acc}, acc, r.published,
        9.0, {"timestamp": "2026-01-01T00:00:00+00:00"},
    )  # fmt: skip


def _portability_blob(diff):
    from dataclasses import asdict

    from suite.checks.portability.judge import judge_transfer

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
    from suite.training.recipe import write_recipe_result

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
    assert "| softmax | jax | torch | 1.00e-03 | 5.0e-05 | 0 / 3 | - | FAIL |" in md
    assert any("portability-2.json" in s and "malformed" in s for s in report["skipped"])
    assert "Misclassified" not in md  # no training runs, no gallery
