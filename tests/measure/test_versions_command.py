"""`suite versions` end to end with a planted regression: a "release" whose train step
sleeps twice as long as its own time (a copy of the installed Keras, patched, in a version set's
environment made the suite's way) is flagged slower than the installed release, and the
installed release given twice is not. And the refusals, before anything is made."""

import importlib.metadata
import json
import shutil
import subprocess
import sys

import pytest

from suite.core.environments import env_dir, installed
from suite.core.platform import child_env

PLANT = '''

def _planted_delay(share=1.0):
    """A regression for the suite to find: each train-function call sleeps ``share`` of
    its own time (torch runs the step inside the call)."""
    import time

    from keras.src.models.model import Model

    made = Model.make_train_function

    def make_train_function(self, force=False):
        out = made(self, force)
        inner = self.train_function
        if inner is None or getattr(inner, "planted", False):
            return out
        def train_function(*args, **kwargs):
            start = time.perf_counter()
            result = inner(*args, **kwargs)
            time.sleep(share * (time.perf_counter() - start))
            return result
        train_function.planted = True
        self.train_function = train_function
        return out

    Model.make_train_function = make_train_function


_planted_delay(2.0)
'''


def plant_release(envs, version="9.9.9"):
    """The environment of keras==``version`` as `versions` would find it made: a venv
    extending this one, holding a copy of the installed Keras that says it is
    ``version`` and whose train function takes three times its time."""
    from suite.measure.versions import extending_venv, mark_ready

    label = f"keras=={version}"
    folder = env_dir(envs, label)
    site = extending_venv(folder)
    source = importlib.metadata.distribution("keras").locate_file("keras")
    shutil.copytree(source, site / "keras", ignore=shutil.ignore_patterns("__pycache__"))
    with open(site / "keras" / "__init__.py", "a") as f:
        f.write(PLANT)
    meta = site / f"keras-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: keras\nVersion: {version}\n")
    mark_ready(folder, label, 0.0)
    return label


def _versions(*args, timeout=900):
    cmd = [sys.executable, "-m", "suite", "versions", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=timeout)


@pytest.mark.cross
def test_a_planted_regression_is_flagged_and_the_same_release_twice_is_not(mnist, tmp_path):
    envs, out = tmp_path / "envs", tmp_path / "out"
    plant_release(envs)
    here = installed("keras")
    run = _versions("--keras", here, here, "9.9.9", "--backends", "torch", "--models", "mlp",
                    "--quick", "--epochs", 3, "--train-examples", 12800, "--envs", envs,
                    "--out", out)  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("exit 1: flagged: keras ") and "→ 9.9.9: torch mlp training time" in last
    assert f"keras=={here}: this environment" in run.stderr
    assert "keras==9.9.9: ready (reused" in run.stderr
    cells = [json.loads(p.read_text()) for p in (out / "runs").rglob("torch-*.json")]
    # three sets, two worker processes each, and each worker ran the Keras it was given
    assert len(cells) == 6
    seen = {(c["config"]["versions"], c["environment"]["keras"]) for c in cells}
    assert seen == {(f"keras=={here}", here), (f"keras=={here}~2", here), ("keras==9.9.9", "9.9.9")}
    md = (out / "report" / "report.md").read_text()
    assert "Versions: steps between releases" in md
    # and said where the answer is, under the verdict
    (across,) = [ln for ln in md.splitlines() if ln.startswith("Across releases (")]
    assert "→ 9.9.9: torch mlp training time" in across and f"→ {here} (copy 2)" not in across
    steps = [ln for ln in md.splitlines() if ln.startswith("| torch | mlp |")]
    twice = [ln for ln in steps if f"{here} → {here} (copy 2)" in ln]
    planted = [ln for ln in steps if "(copy 2) → 9.9.9 | training time" in ln]
    assert twice and all(ln.endswith("| no |") for ln in twice), twice
    assert planted and planted[0].endswith("| slower |"), planted
    assert any(p.name.startswith("report-versions-0-torch-mlp") for p in (out / "report").iterdir())


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give the releases to compare"),
        (["--keras", "3.15.1"], "--keras 3.15.1: give at least 2 releases"),
        (["--keras", "3.15.1", "latest"], "--keras latest: not a release number"),
        (["--jax", "0.10.1", "0.10.2", "--backends", "torch"], "add it to --backends"),
        (["--keras", "3.14.1", "3.15.1", "--models", "nope"], "--models"),
        (["--keras", "3.14.1", "3.15.1", "--epochs", "0"], "--epochs 0"),
        (["--keras", "3.14.1", "3.15.1", "--seeds", "-1"], "--seeds -1: a seed must be"),
    ],
)
def test_refusals_name_the_flag_and_make_nothing(args, message, tmp_path):
    run = _versions(*args, "--envs", tmp_path / "envs", "--out", tmp_path / "out", timeout=120)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "envs").exists() and not (tmp_path / "out").exists()
