"""A version set's environment: none for a release installed here, a failed install is a
one-line reason with nothing left behind, a torch release without a CPU wheel is skipped
before pip is asked."""

import sys
from pathlib import Path

from suite.core.environments import installed, version_sets
from suite.measure.versions import base_lines, environments, make_env


def test_an_installed_release_needs_no_environment(tmp_path):
    here = installed("numpy")
    env = make_env(f"numpy=={here}", tmp_path, print)
    assert env.python == sys.executable and env.error is None and not any(tmp_path.iterdir())


def test_a_release_that_does_not_install_is_a_reason_and_leaves_nothing(tmp_path):
    said = []
    env = make_env("keras==0.0.1", tmp_path, said.append)  # no such release on the index
    assert env.python is None and env.error.startswith("pip install keras==0.0.1: ")
    assert "\n" not in env.error
    assert not list((tmp_path / "envs").iterdir())  # neither the venv nor its partial build


def test_skipped_and_repeated_sets(tmp_path):
    said = []
    here = installed("keras")
    sets = version_sets({"torch": ["2.12.0"], "keras": [here, here]})
    envs = environments(sets, tmp_path, said.append)
    assert "only torch 2.13.0 resolves to a CPU wheel" in envs["torch==2.12.0"].error
    copy = envs[f"keras=={here}~2"]
    assert copy.python == sys.executable and copy.reused
    assert not any(tmp_path.iterdir())


def test_an_environment_sees_this_one_after_its_own_packages():
    lines = base_lines()
    assert (Path(lines[-1]) / "suite" / "__init__.py").is_file()  # the suite's own source
    assert lines[:-1] and all(ln.startswith("import site; site.addsitedir(") for ln in lines[:-1])
