import math

import numpy as np
import pytest

from suite.core.stats import coefficient_of_variation, median_ci, summarize, time_to_target


def test_summary_hand_worked():
    # ms: 1 2 3 4 10. Linear percentiles: p10 = 1 + 0.4*(2-1), p25 = 2, p75 = 4,
    # p90 = 4 + 0.6*(10-4). Sample std = sqrt((9+4+1+0+36)/4) = sqrt(12.5).
    s = summarize([0.001, 0.002, 0.003, 0.004, 0.010])
    assert s.n == 5
    assert s.median == pytest.approx(3.0)
    assert s.mean == pytest.approx(4.0)
    assert s.iqr == pytest.approx(2.0)
    assert s.p10 == pytest.approx(1.4)
    assert s.p90 == pytest.approx(7.6)
    assert s.cv == pytest.approx(math.sqrt(12.5) / 4)
    assert 1.0 <= s.ci_low <= 3.0 <= s.ci_high <= 10.0


def test_median_ci_constant_and_repeatable():
    assert median_ci([2.0] * 10) == (2.0, 2.0)
    values = [1, 5, 2, 8, 3, 3, 9, 4, 4, 6]
    assert median_ci(values) == median_ci(values)
    low, high = median_ci(values)
    assert low < 4.0 < high


def test_ci_narrows_with_more_samples():
    import numpy as np

    rng = np.random.default_rng(1)
    small = rng.normal(10, 1, 20)
    large = rng.normal(10, 1, 2000)
    w_small = np.subtract(*median_ci(small)[::-1])
    w_large = np.subtract(*median_ci(large)[::-1])
    assert w_large < w_small / 4


def test_summarize_empty_is_an_error():
    with pytest.raises(ValueError):
        summarize([])


def test_cv_hand_worked():
    # mean 10, sample std sqrt((1+1)/1)/... for 9, 11: std = sqrt(2), cv = sqrt(2)/10
    assert coefficient_of_variation([9.0, 11.0]) == pytest.approx(math.sqrt(2) / 10)


def test_time_to_target():
    assert time_to_target([2.0, 3.0, 4.0], [0.90, 0.95, 0.99], 0.95) == (5.0, 2)
    assert time_to_target([2.0, 3.0], [0.90, 0.91], 0.95) == (None, None)
    assert time_to_target([2.0], [0.96], 0.95) == (2.0, 1)


def test_paired_ratio_cancels_drift_that_sequential_runs_suffer():
    """Two backends, B truly 1.5x slower. The machine slows by 30% halfway through.
    In rounds (A and B alternate within each round) the per-round ratio stays 1.5;
    run one after the other (all of A, then all of B) B eats the slow half alone."""
    from suite.core.stats import paired_ratio, speed_verdict, unpaired_ratio

    rng = np.random.default_rng(0)
    n, true = 16, 1.5
    machine = np.where(np.arange(n) < n // 2, 1.0, 1.3)  # the slow patch, in time order
    noise = lambda: 1 + 0.02 * rng.standard_normal(n)  # noqa: E731
    # rounds: both backends see the same machine state in round i
    a_time, b_time = machine * noise(), true * machine * noise()
    paired = paired_ratio(1 / a_time, 1 / b_time)  # throughput a / throughput b = time ratio
    assert paired.low < true < paired.high and speed_verdict(paired) == "slower"
    # one after another: A's chunks fill the first half of the time line, B's the second
    seq = np.where(np.arange(2 * n) < n, 1.0, 1.3)
    a_seq, b_seq = seq[:n] * noise(), true * seq[n:] * noise()
    unpaired = unpaired_ratio(1 / a_seq, 1 / b_seq)
    assert not (unpaired.low < true < unpaired.high)  # biased: it reports ~1.95
    assert unpaired.ratio == pytest.approx(true * 1.3, rel=0.03)


def test_paired_ratio_hand_worked():
    from suite.core.stats import paired_ratio

    r = paired_ratio([2.0, 8.0], [1.0, 2.0])  # ratios 2 and 4: geometric mean sqrt(8)
    assert r.ratio == pytest.approx(8**0.5) and r.n == 2
    # log ratios ln2, ln4: mean 1.5 ln2, sd ln2/sqrt2, t(0.975, 1) = 12.706
    half = 12.7062047 * (np.log(2) / np.sqrt(2)) / np.sqrt(2)
    assert r.low == pytest.approx(np.exp(1.5 * np.log(2) - half), rel=1e-6)
    assert r.high == pytest.approx(np.exp(1.5 * np.log(2) + half), rel=1e-6)
    with pytest.raises(ValueError):
        paired_ratio([1.0], [1.0, 2.0])


def test_speed_verdict_needs_ci_and_threshold():
    from suite.core.stats import Ratio, speed_verdict

    assert speed_verdict(Ratio(1.30, 1.20, 1.40, 8, "")) == "slower"
    assert speed_verdict(Ratio(1.03, 1.01, 1.05, 8, "")) == "indistinguishable"  # < 5%
    assert speed_verdict(Ratio(1.30, 0.90, 1.90, 8, "")) == "indistinguishable"  # CI has 1
    assert speed_verdict(Ratio(1.30, None, None, 1, "")) == "indistinguishable"  # no CI
    assert speed_verdict(Ratio(0.70, 0.65, 0.75, 8, "")) == "faster"


def test_paired_difference_tost():
    from suite.core.stats import paired_difference

    same = paired_difference([0.9802, 0.9799, 0.9811], [0.9800, 0.9800, 0.9810], margin=0.002)
    assert same.equivalent and same.low < 0 < same.high
    far = paired_difference([0.990, 0.991, 0.989], [0.980, 0.981, 0.979], margin=0.002)
    assert far.equivalent is False and far.mean == pytest.approx(0.01)
    noisy = paired_difference([0.99, 0.97, 0.98], [0.97, 0.99, 0.98], margin=0.002)
    assert noisy.equivalent is False  # no difference on average, but too noisy to show it
    one = paired_difference([0.99], [0.98], margin=0.002)
    assert one.equivalent is None and one.low is None


def test_runs_as_units_cover_what_rounds_within_each_run_miss():
    from suite.core.stats import WITHIN_ONE_RUN, clustered_rates

    rng = np.random.default_rng(1)
    # 4 runs (seeds) of one invocation; each run's machine state moves the true ratio 2.0
    # by -12%..+12% for all of its 10 rounds (a phase that outlasts the run), rounds
    # within a run vary by 1%
    offsets = [0.88, 1.12, 0.94, 1.06]
    fast, slow = {}, {}
    for run, off in enumerate(offsets):
        for rnd in range(10):
            fast[(f"inv/r{run}", rnd)] = 1000.0
            slow[(f"inv/r{run}", rnd)] = 1000.0 / (2.0 * off * rng.lognormal(0, 0.01))
    one_run = {k: v for k, v in fast.items() if k[0] == "inv/r0"}
    r0 = clustered_rates(one_run, {k: slow[k] for k in one_run})
    assert WITHIN_ONE_RUN in r0.method and not r0.low <= 2.0 <= r0.high  # must reject
    r = clustered_rates(fast, slow)
    assert "runs as units (4 runs)" in r.method and r.low < 2.0 < r.high
    from suite.core.stats import paired_rates

    pooled = paired_rates(fast, slow)  # every round as if independent: far too narrow
    assert np.log(pooled.high / pooled.low) < np.log(r.high / r.low) / 3
    assert clustered_rates({("a", 0): 1.0}, {("a", 0): 2.0}) is None


def test_rerun_interval_hand_worked():
    from suite.core.stats import rerun_interval

    # logs 0, 0.1, 0.2: mean 0.1, s = 0.1, k = 3, t(0.975, 2) = 4.3027;
    # half = 4.3027 * 0.1 * sqrt(1 + 1/3) = 0.49683
    low, high = rerun_interval([0.0, 0.1, 0.2])
    assert math.log(low) == pytest.approx(0.1 - 0.49683, abs=1e-4)
    assert math.log(high) == pytest.approx(0.1 + 0.49683, abs=1e-4)
    with pytest.raises(ValueError):
        rerun_interval([0.1])


def test_clustered_rates_gives_a_rerun_interval_only_with_runs_as_units():
    from suite.core.stats import clustered_rates

    rng = np.random.default_rng(3)

    def runs(n):
        fast = {(f"r{j}", i): 1000.0 for j in range(n) for i in range(8)}
        slow = {k: 500.0 * rng.lognormal(0, 0.05) for k in fast}
        return fast, slow

    two = clustered_rates(*runs(2))
    assert two.pi_low is None and two.pi_high is None  # rounds of 2 runs: no rerun range
    three = clustered_rates(*runs(3))
    assert three.pi_low < three.low <= three.high < three.pi_high  # wider than the CI
    assert three.pi_low < 2.0 < three.pi_high


def _aa_world(rng, sigma_p: float, n: int = 12, participants: int = 9):
    """Per-round log rates of ``participants`` participants, two processes each, every
    process with its own effect (σ_p) and every round its own noise (1%)."""
    effects = rng.normal(0, sigma_p, (participants, 2))
    return effects[:, :, None] + rng.normal(0, 0.01, (participants, 2, n))


def test_the_worker_process_inside_the_interval_covers_what_rounds_miss():
    """Two identical programs (truth 1) in processes that differ by σ_p = 4%: the
    rounds' interval excludes 1 most of the time; with the process variance estimated
    from the A/A contrasts it covers 1 at about its 95%; a real 1.3× is still found."""
    from suite.core.stats import process_variance, with_processes

    rng = np.random.default_rng(7)
    sims = 300
    rounds_cover = process_cover = found = 0
    for _ in range(sims):
        logs = _aa_world(rng, 0.04)
        pv = process_variance([w[0] - w[1] for w in logs])
        diff = logs[0, 0] - logs[1, 0]  # participant 0's first process vs participant 1's
        q0 = with_processes(diff, None)
        q = with_processes(diff, pv)
        rounds_cover += q0.low <= 1 <= q0.high
        process_cover += q.low <= 1 <= q.high
        slower = with_processes(diff + np.log(1.3), pv)
        found += not slower.low <= 1 <= slower.high  # must reject
    assert rounds_cover / sims < 0.5
    assert process_cover / sims >= 0.9
    assert found / sims >= 0.9


def test_no_process_effect_estimates_about_none():
    from suite.core.stats import process_variance

    rng = np.random.default_rng(3)
    logs = _aa_world(rng, 0.0)
    pv = process_variance([w[0] - w[1] for w in logs])
    assert pv.contrasts == 9 and pv.var < 0.004**2
    assert process_variance([]) is None and process_variance([[0.1]]) is None


def test_invocations_that_disagree_are_not_pooled():
    """Two invocations of the same comparison, one at 12× and one at 7.5× with tight
    rounds: "runs disagree", no pooled interval; two at 10× pool as before."""
    from suite.core.stats import clustered_rates, speed_verdict

    rng = np.random.default_rng(5)

    def rates(folder, ratio):
        fast = {(f"{folder}/mlp/seed0", r): 1000.0 * rng.lognormal(0, 0.02) for r in range(12)}
        slow = {k: v / ratio * rng.lognormal(0, 0.02) for k, v in fast.items()}
        return fast, slow

    f1, s1 = rates("run-a", 12.0)
    f2, s2 = rates("run-b", 7.5)
    q = clustered_rates({**f1, **f2}, {**s1, **s2})
    assert q.low is None and q.high is None and "runs disagree" in q.method
    assert sorted(round(x) for x in q.runs) == [8, 12]
    assert speed_verdict(q) == "indistinguishable"  # nothing ranked on it
    # two invocations of the same truth: pooled, with "runs disagree" at about the
    # test's 5% false-alarm rate
    alarms = 0
    for i in range(200):
        f3, s3 = rates(f"c{i}", 10.0)
        f4, s4 = rates(f"d{i}", 10.0)
        agree = clustered_rates({**f3, **f4}, {**s3, **s4})
        alarms += bool(agree.runs)
        assert agree.runs or agree.low is not None
    assert alarms / 200 <= 0.1
    # three invocations that disagree: the runs-as-units interval (their spread inside
    # it), the disagreement named in its method
    f5, s5 = rates("run-e", 10.0)
    three = clustered_rates({**f1, **f2, **f5}, {**s1, **s2, **s5})
    assert three.low is not None and "runs disagree" in three.method
    assert "runs as units (3 runs)" in three.method
