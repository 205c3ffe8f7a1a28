"""Result files: strict JSON, atomic, never overwritten, new names never taken."""

import pytest

from suite.core.errors import SuiteError
from suite.core.files import new_json_path, read_json, write_json


def test_write_json_refuses_nan_before_any_file_exists(tmp_path):
    with pytest.raises(ValueError):
        write_json(tmp_path / "a.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_write_json_never_overwrites(tmp_path):
    path = write_json(tmp_path / "a.json", {"x": 1})
    with pytest.raises(SuiteError, match="exists already"):
        write_json(path, {"x": 2})
    assert read_json(path) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left


def test_new_json_path_takes_the_next_free_name(tmp_path):
    first = write_json(new_json_path(tmp_path, "grads"), {})
    second = new_json_path(tmp_path, "grads")
    assert first.name.startswith("grads-") and second != first
    assert second.stem.startswith(first.stem) and second.stem.endswith("-1")


def test_read_json_names_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SuiteError, match="bad.json: not readable JSON"):
        read_json(tmp_path / "bad.json")
