import math

import pytest

from suite.stats import coefficient_of_variation, median_ci, summarize, time_to_target


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


def test_ratio_of_medians():
    from suite.stats import ratio_of_medians

    ratio, low, high = ratio_of_medians([2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    assert (ratio, low, high) == (2.0, 2.0, 2.0)
    a = [1.9, 2.0, 2.1, 2.0, 1.95, 2.05] * 5
    b = [0.9, 1.0, 1.1, 1.0, 0.95, 1.05] * 5
    ratio, low, high = ratio_of_medians(a, b)
    assert ratio == pytest.approx(2.0) and low < 2.0 < high and high - low < 0.3
