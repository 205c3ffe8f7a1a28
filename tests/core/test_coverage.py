"""The simulation behind the docs' coverage figures: under phase noise of the measured
size, one run's rounds interval misses the true ratio often; intervals with runs as
units and the rerun prediction interval hold about 95%."""

import numpy as np
import pytest

from suite.core.coverage import simulate, simulate_run


def test_phase_noise_breaks_the_within_run_interval_and_runs_as_units_repair_it():
    c = simulate(trials=300, runs=5, target=0.10, max_runs=12)
    assert c.within_run_ci < 0.7  # must reject: rounds of one run claim 95%
    assert c.within_run_ci_rerun < c.within_run_ci + 0.05
    assert 0.88 <= c.runs_ci <= 0.99
    assert 0.88 <= c.rerun_pi <= 0.99
    assert c.sequential_ci is not None and 0.8 <= c.sequential_ci <= 0.99
    assert 3 <= c.sequential_runs <= 12 and 0 < c.sequential_reached <= 1


def test_without_phases_the_within_run_interval_holds():
    """The check can tell: with no run offset and independent rounds the rounds
    interval covers as it claims, so the failure above is the phases' doing."""
    c = simulate(trials=300, run_sd=0.0, ar=0.0, target=None)
    assert c.within_run_ci >= 0.9
    assert c.sequential_ci is None


def test_simulated_run_has_the_stated_noise():
    rng = np.random.default_rng(0)
    runs = np.array([simulate_run(rng, 400, 0.0, 0.2, 0.5) for _ in range(50)])
    assert runs.std() == pytest.approx(0.2, rel=0.1)
    lag = np.mean([np.corrcoef(r[:-1], r[1:])[0, 1] for r in runs])
    assert lag == pytest.approx(0.5, abs=0.08)
