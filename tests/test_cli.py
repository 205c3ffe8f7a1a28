import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "suite", *args], capture_output=True, text=True, **kw
    )


def test_models_table():
    proc = run("models")
    assert proc.returncode == 0
    assert re.search(r"cnn\s+225,034\s+5,262,080\s+15,396,864\s+99.0%", proc.stdout)
    assert "softmax" in proc.stdout and "89,610" in proc.stdout


def test_help_lists_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("models", "data"):
        assert command in proc.stdout


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    test_line = re.search(r"^# run the tests\n(.+)$", readme, re.M).group(1).strip()
    assert test_line in ci.splitlines()
