"""compare --repeat and --precision: the loop of independent runs, its stopping rule
and its record, with the training replaced by a stand-in (the cross test trains)."""

import json

import pytest

from suite.core.config import RunConfig
from suite.core.errors import SuiteError
from suite.measure import repeats


def args(**kw):
    return repeats.repeats(**{"gap": 0.0, **kw})


class Clock:
    """time.time() that a stand-in run moves forward by ``step`` seconds."""

    def __init__(self, step):
        self.now, self.step = 1000.0, step

    def time(self):
        return self.now


def fake(clock, wide_until: int):
    done, calls = [], []

    def train(r):
        done.append(r)
        clock.now += clock.step
        return [f"bad-{r}"] if r == 1 else []

    def unmet():
        calls.append(len(done))
        return [{"model": "mlp", "backend": "torch"}] if len(done) < wide_until else []

    return done, calls, train, unmet


def test_repeat_runs_each_repetition_once(tmp_path, monkeypatch):
    clock = Clock(10)
    monkeypatch.setattr(repeats.time, "time", clock.time)
    done, calls, train, unmet = fake(clock, 0)
    bad = repeats.run_repeats(args(repeat=3), train, unmet, tmp_path)
    assert done == [0, 1, 2] and calls == [] and bad == ["bad-1"]
    assert not (tmp_path / "precision").exists()  # no target: no record


def test_precision_adds_runs_until_every_ratio_is_narrow(tmp_path, monkeypatch):
    clock = Clock(60)
    monkeypatch.setattr(repeats.time, "time", clock.time)
    done, calls, train, unmet = fake(clock, 5)
    repeats.run_repeats(args(precision=0.05, max_time="1h"), train, unmet, tmp_path)
    assert done == [0, 1, 2, 3, 4] and calls == [3, 4, 5]  # judged from the 3rd run on
    (record,) = (tmp_path / "precision").glob("precision-*.json")
    blob = json.loads(record.read_text())
    assert blob["runs"] == 5 and blob["target"] == 0.05 and blob["max_time_s"] == 3600
    assert blob["stopped"] == "every ranked ratio within ±5%"


def test_precision_stops_before_a_run_would_pass_the_time_limit(tmp_path, monkeypatch):
    clock = Clock(100)
    monkeypatch.setattr(repeats.time, "time", clock.time)
    done, _, train, unmet = fake(clock, 99)  # never narrow enough
    repeats.run_repeats(args(precision=0.05, max_time="250s"), train, unmet, tmp_path)
    assert done == [0, 1]  # a third run would end at 300 s > 250 s
    blob = json.loads(next((tmp_path / "precision").glob("*.json")).read_text())
    assert blob["stopped"].startswith("time limit") and "fewer than 3 runs" in blob["stopped"]


def test_repeated_cells_are_new_cells_of_the_same_variant():
    cells = [RunConfig(backend="jax", model="mlp")]
    assert repeats.repeated(cells, 0) == cells
    (again,) = repeats.repeated(cells, 2)
    assert again.repeat == 2 and again.cell_name() != cells[0].cell_name()


@pytest.mark.parametrize(
    "text, seconds", [("20m", 1200), ("1.5h", 5400), ("900s", 900), ("45", 45)]
)
def test_durations(text, seconds):
    assert repeats.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "5d"])
def test_bad_durations_name_the_flag(text):
    with pytest.raises(SuiteError, match="--max-time"):
        repeats.parse_duration(text)
