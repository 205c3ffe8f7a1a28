"""The Machine noise and Reruns sections' data: flagged rounds, the ratio in flagged vs
unflagged rounds, what chunk times moved with, and rerun intervals with a precision
target. Hand-made results with planted noise; each check also has a case it rejects."""

from dataclasses import replace

import numpy as np
import pytest
from report_fixtures import make_run

from suite.report.groups import group, model_groups
from suite.report.machine import noise_section, rerun_section
from suite.report.noise import chunk_rows, flag_rows, flagged, noise_rows, phase_rows
from suite.report.reruns import half_width, rerun_rows, unmet
from suite.report.tables import speed_rows


def noisy(run, steal_from=None, slow=1.0, probe=None):
    """``run`` with the machine's counters on every chunk: no steal, others idle, a
    steady probe; from round ``steal_from`` on the host steals 30% and (for this
    backend) the chunk takes ``slow`` times as long; ``probe(i)`` sets the loop probe."""
    chunks = []
    for c in run.chunks:
        hit = steal_from is not None and c.round >= steal_from
        seconds = c.seconds * (slow if hit else 1.0)
        chunks.append(
            replace(
                c,
                seconds=seconds,
                steal_s=0.3 * seconds * 2 if hit else 0.0,
                runq_wait_s=0.01 * seconds,
                invol_switches=10,
                others_cpu_s=0.01 * seconds,
                cpu_mhz=2600.0,
                probe_ms=probe(c.round) if probe else 1.0,
                copy_ms=3.0,
            )
        )
    return replace(run, chunks=chunks)


def speed_of(runs):
    cells = next(iter(group(runs).values()))
    return cells, {k: speed_rows(cells, *k) for k in model_groups(cells)}


def pair(steal_from=None):
    fast = noisy(make_run("jax", "mlp", 0, 1.0, 0.97, schedule="run1"), steal_from)
    slow = noisy(make_run("torch", "mlp", 0, 2.0, 0.97, schedule="run1"), steal_from, 1.5)
    return [fast, slow]


def test_steal_flags_its_rounds_and_the_ratio_moves_with_it():
    runs = pair(steal_from=7)
    cells, speed = speed_of(runs)
    rows = noise_rows(runs)
    assert len(rows) == 1 and rows[0]["run"] == "run1"
    assert rows[0]["flagged"] == 6 and rows[0]["rounds"] == 12
    assert rows[0]["steal_worst_pct"] == pytest.approx(30.0)
    (f,) = flag_rows(cells, speed)
    assert f["backend"] == "torch" and f["n_flagged"] == 6 and f["n_unflagged"] == 6
    assert f["flagged"].ratio == pytest.approx(3.0, rel=0.05)  # 2x, and 1.5x in steal
    assert f["unflagged"].ratio == pytest.approx(2.0, rel=0.05)
    d = {"noise": rows, "noise_flags": [f], "phases": phase_rows(runs), **labels()}
    text = str(noise_section(d))
    assert "yes: the intervals do not overlap" in text and "6 of 12" in text


def test_a_quiet_machine_flags_nothing():
    runs = pair()  # must reject: nothing crossed a threshold
    assert noise_rows(runs)[0]["flagged"] == 0
    assert flag_rows(*speed_of(runs)) == []


def test_a_slow_probe_flags_its_round_against_the_runs_median():
    run = noisy(make_run("jax", "mlp", 0, 1.0, 0.97, schedule="run1"))
    slow = [replace(c, probe_ms=1.3 if c.round == 3 else 1.0) for c in run.chunks]
    assert flagged(chunk_rows(replace(run, chunks=slow))) == {("run1/mlp/seed0", 3)}
    ok = [replace(c, probe_ms=1.2 if c.round == 3 else 1.0) for c in run.chunks]
    assert flagged(chunk_rows(replace(run, chunks=ok))) == set()  # under 1.25x: not flagged


def test_phase_correlation_finds_a_planted_cause_and_not_a_random_one():
    rng = np.random.default_rng(0)
    probes = {i: float(x) for i, x in enumerate(rng.uniform(1, 2, 13), 1)}
    run = noisy(make_run("jax", "mlp", 0, 1.0, 0.97, schedule="run1", spread=0.0))
    # chunk time follows the probe (the vCPU's speed); steal is noise
    chunks = [
        replace(
            c,
            seconds=0.1 * probes[c.round],  # the chunk's time follows the probe alone
            probe_ms=probes[c.round],
            steal_s=float(rng.uniform(0, 0.01)),
        )
        for c in run.chunks
    ]
    (p,) = phase_rows([replace(run, chunks=chunks)])
    rho, pval = p["probe"]
    assert rho > 0.9 and pval < 0.01
    assert p["steal"] is None or abs(p["steal"][0]) < 0.7  # no planted link: not clear


def labels():
    return {"groups": [("mlp", "v")], "models": ["mlp"]}


def test_rerun_rows_need_runs_as_units_to_reach_a_target():
    runs = []
    for s in range(3):  # three schedules (runs), ratio 2 with a little noise
        runs += [
            make_run("jax", "mlp", s, 1.0, 0.97, schedule=f"run{s}"),
            make_run("torch", "mlp", s, 2.0, 0.97, schedule=f"run{s}"),
        ]
    _, speed = speed_of(runs)
    (row,) = rerun_rows(speed, target=0.5)
    assert row["rerun"] is not None and row["rerun"][0] < 2.0 < row["rerun"][1]
    assert row["reached"] and unmet([speed], 0.5) == []
    (tight,) = rerun_rows(speed, target=1e-6)  # must reject: far narrower than measured
    assert not tight["reached"] and len(unmet([speed], 1e-6)) == 1
    _, one = speed_of(runs[:2])
    (alone,) = rerun_rows(one, target=0.5)  # one run: rounds only, never reaches it
    assert alone["rerun"] is None and not alone["reached"]
    record = {"target": 0.5, "max_time_s": 1200, "runs": 3, "wall_s": 600, "stopped": "x"}
    text = str(rerun_section({"reruns": [row], **labels()}, record))
    assert "within ±50%?" in text and "'yes'" in text and "--max-time 20m" in text


def test_half_width_by_hand():
    from suite.core.stats import Ratio

    q = Ratio(2.0, 2.0 / 1.1, 2.0 * 1.1, 3, "runs as units (3 runs), t-interval")
    assert half_width(q) == pytest.approx(0.1)
    assert half_width(Ratio(2.0, None, None, 1, "x")) is None
