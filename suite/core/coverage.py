"""How often each interval the report shows covers what it claims to, under phase noise
of the size measured on this project's VMs: many simulated compare runs, each a set of
rounds whose log time ratio is the true one plus a per-run phase offset plus
autocorrelated round-to-round noise, fed to the report's own interval functions
(``suite.core.stats``). Pure functions, seeded: the same figures every time.

- the **within-run CI** (one run's rounds) against the true ratio, and against a
  rerun's ratio (what a reader who takes it as a rerun's range would expect);
- the **runs-as-units CI** (k runs) against the true ratio;
- the **prediction interval** (k runs) against one more independent run's ratio;
- **sequential runs** (``compare --precision``): runs added from 3 until the interval is
  within ±P or a cap, the stopped interval against the true ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from suite.core.stats import clustered_rates

# measured (docs/measured.md): four quick runs' mlp TensorFlow ÷ JAX ratios 2.16, 2.19,
# 2.86, 2.90 (between-run sd of the log ratio 0.17); within one run a half-width of
# about 15% over 16 rounds
RUN_SD = 0.15  # sd of a run's phase offset, log ratio
ROUND_SD = 0.20  # sd of one round's log ratio about its run's
ROUND_AR = 0.5  # lag-1 autocorrelation of the rounds inside a run (phases last minutes)
ROUNDS = 16


@dataclass(frozen=True)
class Coverage:
    """Shares of simulated runs (0..1) whose interval held its target."""

    trials: int
    runs: int  # k: runs behind the runs-as-units CI and the prediction interval
    within_run_ci: float  # one run's rounds interval holds the true ratio
    within_run_ci_rerun: float  # ... holds an independent rerun's ratio
    runs_ci: float  # the k-run interval (the report's: the wider of runs and rounds)
    rerun_pi: float  # the k-run prediction interval holds one more run's ratio
    sequential_ci: float | None  # --precision's interval at stopping holds the true ratio
    sequential_runs: float | None  # mean runs made before stopping
    sequential_reached: float | None  # share of trials that reached the target


def simulate_run(rng, n_rounds: int, run_sd: float, round_sd: float, ar: float) -> np.ndarray:
    """One run's round log ratios about a true 0: a phase offset shared by the run plus
    AR(1) noise of stationary sd ``round_sd``."""
    offset = rng.normal(0.0, run_sd)
    e = np.empty(n_rounds)
    e[0] = rng.normal(0.0, round_sd)
    innovation = round_sd * math.sqrt(1 - ar**2)
    for i in range(1, n_rounds):
        e[i] = ar * e[i - 1] + rng.normal(0.0, innovation)
    return offset + e


def _interval(runs: list[np.ndarray]):
    """The report's interval for runs of round log ratios (``clustered_rates``)."""
    a = {(j, i): math.exp(x) for j, run in enumerate(runs) for i, x in enumerate(run)}
    b = dict.fromkeys(a, 1.0)
    return clustered_rates(a, b)


def _holds(low, high, log_value: float) -> bool:
    return low is not None and math.log(low) <= log_value <= math.log(high)


def simulate(
    trials: int = 2000,
    runs: int = 5,
    rounds: int = ROUNDS,
    run_sd: float = RUN_SD,
    round_sd: float = ROUND_SD,
    ar: float = ROUND_AR,
    target: float | None = 0.05,
    max_runs: int = 20,
    seed: int = 0,
) -> Coverage:
    """Coverage of each interval over ``trials`` simulated experiments."""
    rng = np.random.default_rng(seed)
    hits = np.zeros(4)
    seq_hits, seq_runs, seq_reached = 0, 0, 0
    for _ in range(trials):
        sample = [simulate_run(rng, rounds, run_sd, round_sd, ar) for _ in range(runs + 1)]
        one = _interval(sample[:1])
        rerun = float(np.mean(sample[-1]))
        k = _interval(sample[:runs])
        hits += [
            _holds(one.low, one.high, 0.0),
            _holds(one.low, one.high, rerun),
            _holds(k.low, k.high, 0.0),
            _holds(k.pi_low, k.pi_high, rerun),
        ]
        if target is not None:
            q, n = _sequential(rng, rounds, run_sd, round_sd, ar, target, max_runs)
            seq_hits += _holds(q.low, q.high, 0.0)
            seq_runs += n
            seq_reached += _half(q) <= target
    share = hits / trials
    seq = target is not None
    return Coverage(
        trials,
        runs,
        *map(float, share),
        sequential_ci=seq_hits / trials if seq else None,
        sequential_runs=seq_runs / trials if seq else None,
        sequential_reached=seq_reached / trials if seq else None,
    )


def _half(q) -> float:
    return math.exp(math.log(q.high / q.low) / 2) - 1


def _sequential(rng, rounds, run_sd, round_sd, ar, target, max_runs):
    """--precision's rule: 3 runs, then one more until the interval is within ±target
    or ``max_runs`` (standing in for the time limit)."""
    sample = [simulate_run(rng, rounds, run_sd, round_sd, ar) for _ in range(3)]
    while True:
        q = _interval(sample)
        if _half(q) <= target or len(sample) >= max_runs:
            return q, len(sample)
        sample.append(simulate_run(rng, rounds, run_sd, round_sd, ar))
