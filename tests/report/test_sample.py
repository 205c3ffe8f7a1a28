"""The committed sample regenerates from its own result files: `python -m suite report
results/sample/compare --out DIR` gives the same tables and CSVs as the committed report
(figures are not compared byte for byte; the "Generated ..." line names the time)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "results" / "sample"
CSVS = ("report.csv", "report-rounds.csv", "report-inference.csv", "report-grads.csv")


def _tables(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


@pytest.mark.skipif(not (SAMPLE / "compare").is_dir(), reason="no sample result files")
def test_the_sample_regenerates_from_its_own_results(tmp_path):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "suite", "report", "results/sample/compare", "--out", str(out)]
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
    checked = 0
    for line in verdict[2:]:
        model = line.split(" | ")[0].strip("| ")
        for ratio, other, low, high in re.findall(
            r"(\S+)× faster than (\w+) \[(\S+), (\S+)\]", line
        ):
            (c,) = {
                (c["device"], c["model"], c["variant"], c["backend"])
                for c in cells
                if c["model"] == model and "dtype_policy=" not in c["variant"]
                and c["backend"] == other and c["process"] == "0"
            }  # fmt: skip
            q = mine[c]
            assert [num(q[0]), num(q[1]), num(q[2])] == [ratio, low, high], line
            checked += 1
    assert checked == len(verdict) - 2  # every row's speed figure
