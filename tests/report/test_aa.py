"""The A/A control worked out on synthetic runs: a participant whose second process is
planted 15% slower fails its A/A and withholds every ranking within that 15%; a
difference far beyond it is still ranked; identical processes pass; the process
variance widens every time ratio's interval."""

from report_fixtures import make_run

from suite.core.results import write_result
from suite.report.aa import NOT_RANKABLE, aa_reach, aa_rows, process_of_cells
from suite.report.build import build_report
from suite.report.groups import group, ok_runs


def _runs(torch_twin_factor: float, torch_ms: float = 11.0):
    """jax (10 ms per step) and torch on mlp, seeds 0-2, each with its twin process;
    torch's twin runs ``torch_twin_factor`` times torch's time per step."""
    runs = []
    for seed in range(3):
        for backend, ms, factor in (("jax", 10.0, 1.0), ("torch", torch_ms, torch_twin_factor)):
            runs.append(make_run(backend, "mlp", seed, ms, 0.97, spread=0.01))
            # another draw of the rounds' noise (the seed of make_run's rng includes ms)
            twin_ms = ms * factor * (1 + 1e-9)
            runs.append(make_run(backend, "mlp", seed, twin_ms, 0.97, spread=0.01, process=1))
    return runs


def _cells(runs):
    return next(iter(group(runs).values()))


def _device(tmp_path, runs):
    for r in runs:
        write_result(tmp_path / f"{r.cell}.json", r)
    return build_report([tmp_path])["devices"][0]


def test_a_process_planted_15_percent_slower_makes_the_workload_not_rankable(tmp_path):
    cells = _cells(_runs(1.15))
    rows = {r["backend"]: r for r in aa_rows(cells)}
    assert rows["torch"]["fails"] and 1.14 < rows["torch"]["ratio"].ratio < 1.16
    assert not rows["jax"]["fails"] and rows["jax"]["ratio"].low <= 1 <= rows["jax"]["ratio"].high
    (key,) = reach = aa_reach(list(rows.values()))
    assert key[0] == "mlp" and 1.14 < reach[key]["factor"] < 1.16
    assert "differed by 15% between processes (torch; torch 1.15" in reach[key]["words"]
    device = _device(tmp_path, _runs(1.15))  # torch 1.10× slower: within the 15%
    (verdict,) = device["verdict"]
    assert verdict.use == NOT_RANKABLE
    assert verdict.speed == f"{NOT_RANKABLE} here: {reach[key]['words']}"


def test_a_difference_beyond_the_aa_is_still_ranked(tmp_path):
    """torch 2× slower than jax: far beyond the 15% the failing A/A showed."""
    (verdict,) = _device(tmp_path, _runs(1.15, torch_ms=20.0))["verdict"]
    assert verdict.use == "jax" and "faster than torch" in verdict.speed
    assert "; A/A failed (the same program differed by 15%" in verdict.speed


def test_identical_processes_pass_and_rank(tmp_path):
    rows = aa_rows(_cells(_runs(1.0)))
    assert len(rows) == 2 and not any(r["fails"] for r in rows)
    assert aa_reach(rows) == {}
    (verdict,) = _device(tmp_path, _runs(1.0))["verdict"]
    assert verdict.use == "jax" and "1.10× faster than torch" in verdict.speed


def test_a_twin_is_no_seed_of_its_own():
    cells = _cells(_runs(1.0))
    assert all(len(runs) == 6 and len(ok_runs(runs)) == 3 for runs in cells.values())


def test_the_process_variance_is_estimated_and_goes_into_the_interval(tmp_path):
    slow = _device(tmp_path / "slow", _runs(1.15, torch_ms=20.0))
    same = _device(tmp_path / "same", _runs(1.0, torch_ms=20.0))
    assert process_of_cells(_cells(_runs(1.15))).var > 10 * process_of_cells(_cells(_runs(1.0))).var
    assert same["process"].contrasts == slow["process"].contrasts == 6

    def width(d):
        (row,) = [r for r in next(iter(d["speed"].values())) if r["ratio"] is not None]
        q = row["ratio"]
        assert "worker process inside" in q.method
        return q.high / q.low

    assert width(slow) > 1.5 * width(same)
