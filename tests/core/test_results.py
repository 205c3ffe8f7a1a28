import json
from dataclasses import asdict

import pytest

from suite.core.config import RunConfig, validate
from suite.core.errors import SuiteError
from suite.core.files import new_run_dir, write_atomic
from suite.core.results import RunResult, load_result, write_result


def result(**kw):
    base = dict(
        run_id="r",
        cell="c",
        status="ok",
        config=asdict(validate(RunConfig(backend="jax", model="mlp"), check_install=False)),
        model={},
        environment={"python": "3.11"},
    )
    return RunResult(**{**base, **kw})


def test_round_trip(tmp_path):
    path = write_result(tmp_path / "c.json", result(final_test_accuracy=0.98))
    loaded = load_result(path)
    assert loaded == result(final_test_accuracy=0.98)  # typed and equal, read back
    assert loaded.schema_version == 2


def test_never_overwrites(tmp_path):
    write_result(tmp_path / "c.json", result())
    with pytest.raises(SuiteError, match="never overwritten"):
        write_result(tmp_path / "c.json", result(status="failed"))
    assert load_result(tmp_path / "c.json").status == "ok"


def test_failure_during_write_leaves_nothing(tmp_path):
    def explode(f):
        f.write(b'{"half": ')
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "c.json", explode, overwrite=False)
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_result_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        write_result(tmp_path / "c.json", result(final_test_loss=float("nan")))
    assert list(tmp_path.iterdir()) == []


def test_run_dirs_are_new(tmp_path):
    a, b = new_run_dir(tmp_path), new_run_dir(tmp_path)
    assert a != b and a.is_dir() and b.is_dir()


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "not readable JSON"),
        ('{"schema": "other"}', "not a keras-backend-suite/run file"),
        ('{"schema": "keras-backend-suite/run", "schema_version": 99}', "schema version 99"),
        ('{"schema": "keras-backend-suite/run", "schema_version": 1, "status": "ok"}', "malformed"),
    ],
)
def test_load_rejects_malformed(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SuiteError, match=message):
        load_result(path)
    json.dumps(message)


@pytest.mark.parametrize(
    "change, words",
    [
        ({"config": {}}, "unknown backend None"),
        ({"config_epochs": "many"}, "config:"),
        ({"environment": []}, "must be objects"),
        ({"throughput_examples_per_s": 10**400}, "throughput_examples_per_s is not a finite"),
        ({"final_test_accuracy": "high"}, "final_test_accuracy is not a finite"),
        ({"config_model": "densenet"}, "unknown model 'densenet'"),
        ({"config_backend": "$x^2$"}, "unknown backend '$x^2$'"),
        ({"chunks": [{"steps": 3}]}, "chunks must be objects"),
        (
            {
                "chunks": [
                    {"steps": 3, "seconds": 1, "cpu_seconds": 1, "threads": 2, "steal_s": "x"}
                ]
            },
            "chunk steal_s must be finite numbers or null",
        ),
    ],
)
def test_malformed_fields_are_named_not_raised(tmp_path, change, words):
    data = json.loads(json.dumps(asdict(result()), default=str))
    for key, value in change.items():
        if key.startswith("config_"):
            data["config"][key[7:]] = value
        else:
            data[key] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SuiteError, match="bad.json: malformed result") as err:
        load_result(path)
    assert words in str(err.value)
