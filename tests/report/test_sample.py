"""The committed sample regenerates from its own result files: `python -m suite report
results/sample/compare results/sample/workloads --out DIR` (every result folder kept
beside the report) gives the same tables and CSVs as the committed report (figures are
not compared byte for byte; the "Generated ..." line names the time)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "results" / "sample"
CSVS = ("report.csv", "report-rounds.csv", "report-inference.csv", "report-grads.csv")
# the sample's result folders, each a compare's OUT
FOLDERS = sorted(p for p in SAMPLE.iterdir() if p.is_dir()) if SAMPLE.is_dir() else []


def _tables(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


@pytest.mark.skipif(not (SAMPLE / "compare").is_dir(), reason="no sample result files")
def test_the_sample_regenerates_from_its_own_results(tmp_path):
    out = tmp_path / "report"
    folders = [str(f.relative_to(ROOT)) for f in FOLDERS]
    cmd = [sys.executable, "-m", "suite", "report", *folders, "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    new, old = (out / "report.md").read_text(), (SAMPLE / "report.md").read_text()
    assert _tables(new) == _tables(old)
    for name in CSVS:
        assert (out / name).read_text() == (SAMPLE / name).read_text(), name
    # the verdict: one row per workload
    verdict = _tables(new.split("## Which backend should I use?")[1].split("## Contents")[0])
    assert len(verdict) == 2 + len({ln.split(" | ")[0] for ln in verdict[2:]})


@pytest.mark.skipif(not (SAMPLE / "compare").is_dir(), reason="no sample result files")
def test_every_speed_figure_of_the_samples_verdict_is_recomputed_from_its_csvs():
    """The README's recipe (results/README.md, as tests/report/test_export.py codes it)
    applied to the sample's own CSVs gives each verdict row's ratio and interval."""
    import re

    from test_export import _read, recompute

    from suite.report.layout import num

    cells = _read(SAMPLE / "report.csv")
    mine = recompute(_read(SAMPLE / "report-rounds.csv"), cells)
    md = (SAMPLE / "report.md").read_text()
    verdict = _tables(md.split("## Which backend should I use?")[1].split("## Contents")[0])

    def cell(model, other):
        (c,) = {
            (c["device"], c["model"], c["variant"], c["backend"])
            for c in cells
            if c["model"] == model and "dtype_policy=" not in c["variant"]
            and c["backend"] == other and c["process"] == "0"
        }  # fmt: skip
        return c

    checked = 0
    for line in verdict[2:]:
        model = line.split(" | ")[0].strip("| ")
        speed = line.split(" | ")[2]
        for ratio, other, low, high in re.findall(
            r"(\S+)× faster than (\w+) \[(\S+), (\S+)\]", speed
        ):
            q = mine[cell(model, other)]
            assert [num(q[0]), num(q[1]), num(q[2])] == [ratio, low, high], line
            checked += 1
        if "× faster than" not in speed:  # no ranking: each interval holds 1 (or the
            # row names the A/A gate that withholds a gap smaller than the A/A's own)
            (others,) = re.findall(r"indistinguishable here from ([\w, ]+)", speed)
            for other in others.split(", "):
                q = mine[cell(model, other)]
                assert q[1] <= 1 <= q[2] or "A/A" in speed, line
            checked += 1
    assert checked == len(verdict) - 2  # every row's speed figure or its "indistinguishable"


def _float32_cells(cells: list[dict], model: str) -> list[dict]:
    """A workload's float32 cells at the defaults, first process, not superseded."""
    return [
        c for c in cells
        if c["model"] == model and "dtype_policy=" not in c["variant"]
        and "tuned=" not in c["variant"] and c["process"] == "0" and c["superseded"] == "0"
    ]  # fmt: skip


@pytest.mark.skipif(not (SAMPLE / "compare").is_dir(), reason="no sample result files")
def test_the_verdicts_accuracy_and_inference_words_follow_from_its_csvs():
    """Each row's accuracy words (identical / equivalent / no difference seen / differs)
    from the per-seed test accuracies in report.csv, paired by seed against the row's
    backend with the report's margin; its inference words from the predict() throughput
    (geometric mean over runs) and the one-example column of report.csv."""
    import numpy as np
    from test_export import _read

    from suite.core.stats import paired_difference
    from suite.report.layout import difference_kind
    from suite.report.tables import ACCURACY_MARGIN

    cells = _read(SAMPLE / "report.csv")
    md = (SAMPLE / "report.md").read_text()
    part = md.split("## Which backend should I use?")[1].split("## Contents")[0]
    header, _, *rows = _tables(part)
    columns = [h.strip() for h in header.strip("|").split("|")]
    same = next((ln for ln in part.splitlines() if ln.startswith("The same on every")), "")
    checked = 0
    for line in rows:
        row = dict(zip(columns, (v.strip() for v in line.strip("|").split("|")), strict=True))
        model, use = row["workload"], row["use"].split(",")[0].split(" or ")[0]
        mine = _float32_cells(cells, model)
        by = {}
        for c in mine:
            by.setdefault(c["backend"], {})[int(c["seed"])] = float(c["test_accuracy_fraction"])
        words = row.get("accuracy") or same.split("accuracy: ")[-1]
        kinds = set()
        for b, acc in by.items():
            if b != use:
                seeds = sorted(acc)
                d = paired_difference([acc[s] for s in seeds], [by[use][s] for s in seeds],
                                      ACCURACY_MARGIN)  # fmt: skip
                kinds.add(difference_kind(d))
        if words.startswith("identical on all"):
            assert kinds == {"identical"} and words.endswith(f"{len(by[use])} seeds"), line
        elif words.startswith("equivalent"):
            assert kinds <= {"identical", "equivalent"} and kinds != {"identical"}, line
        elif words.startswith("differs"):
            assert "differs" in kinds, line
        elif words.startswith("no difference seen"):
            assert "too few" in kinds and "differs" not in kinds, line
        else:
            continue  # still learning / did not learn: the learning state, not a pairing
        # inference: the fastest predict() by geometric mean; the lowest one-example
        # latency is the cell with no ratio to the lowest
        inference = row.get("inference") or same.split("inference: ")[-1].split(";")[0]
        thr = {b: np.exp(np.mean([np.log(float(c["predict_examples_per_s"]))
                                  for c in mine if c["backend"] == b])) for b in by}  # fmt: skip
        fastest = max(thr, key=thr.get)
        (lowest,) = {c["backend"] for c in mine if not c["single_example_latency_ratio_to_lowest"]}
        want = (f"{fastest} (predict() and one example)" if fastest == lowest
                else f"predict() {fastest}; one example {lowest}")  # fmt: skip
        assert inference.startswith(want), (line, want)
        checked += 1
    assert checked >= 1
