"""Reading result folders: a folder whose every file is skipped says which and why."""

import json
import subprocess
import sys

import pytest

from suite.core.errors import SuiteError
from suite.report.collect import collect


def _write(folder, name, blob):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(blob if isinstance(blob, str) else json.dumps(blob))


def test_every_file_skipped_names_each_file_and_why(tmp_path):
    _write(tmp_path, "a.json", {"schema": "keras-backend-suite/grads", "schema_version": 999})
    _write(tmp_path, "b.json", "{not json")
    with pytest.raises(SuiteError) as e:
        collect([tmp_path])
    text = str(e.value)
    assert "every result file was skipped (2)" in text
    assert "a.json: unknown schema version 999" in text
    assert "b.json: not readable JSON" in text
    assert "\n" not in text  # one line


def test_an_empty_folder_says_there_are_no_result_files(tmp_path):
    with pytest.raises(SuiteError, match="no result files; run"):
        collect([tmp_path])


def test_report_on_a_folder_of_skipped_files_is_one_line_exit_2(tmp_path):
    run = {"schema": "keras-backend-suite/run", "schema_version": 2, "batch_size": 10**400}
    _write(tmp_path / "in", "huge.json", run)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "suite", "report", str(tmp_path / "in"), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "huge.json" in lines[0] and "skipped (1)" in lines[0], lines
    assert not out.exists()
