"""The catch-up arithmetic on synthetic timings: who starts first, who steps faster,
when the faster stepper has done as much work, and "never"."""

import math

import pytest

from suite.core.startup import CatchUp, catch_up, catch_up_interval


def test_the_slower_starter_catches_up_where_the_work_is_equal():
    # jax: first step after 11 s, then 0.03 s per step; torch: 1 s, then 0.06 s per step
    c = catch_up("jax", 11.0, 0.03, "torch", 1.0, 0.06)
    assert (c.first, c.faster) == ("torch", "jax")
    assert c.seconds == pytest.approx(21.0)  # 11 + 0.03 n = 1 + 0.06 n at n = 333.3
    steps_jax = 1 + (c.seconds - 11.0) / 0.03
    steps_torch = 1 + (c.seconds - 1.0) / 0.06
    assert c.steps == pytest.approx(steps_jax) == pytest.approx(steps_torch)
    assert c.words() == "jax catches up with torch after 21 s"
    assert catch_up("torch", 1.0, 0.06, "jax", 11.0, 0.03).seconds == pytest.approx(21.0)


def test_never():
    ahead = catch_up("jax", 1.0, 0.03, "torch", 2.0, 0.06)
    assert ahead.seconds is None and ahead.never == "jax ahead from the first step"
    late = catch_up("jax", 11.0, 0.03, "torch", 1.0, 0.06, horizon_steps=300)
    assert late.seconds is None and late.never == "never within 300 steps"
    assert catch_up("jax", 11.0, 0.03, "torch", 1.0, 0.06, horizon_steps=400).seconds
    assert catch_up("a", 2.0, 0.05, "b", 1.0, 0.05).never == "same step time"
    with pytest.raises(ValueError):
        catch_up("a", 0.0, 0.05, "b", 1.0, 0.05)


def test_the_interval_is_over_repeats_and_open_when_one_never_catches_up():
    points = [catch_up("jax", s, 0.03, "torch", 1.0, 0.06) for s in (10.0, 11.0, 12.0)]
    q = catch_up_interval(points)
    assert q.n == 3 and q.never == 0 and q.low < 21.0 < q.high
    assert q.seconds == pytest.approx(math.exp(sum(math.log(p.seconds) for p in points) / 3))
    open_above = catch_up_interval([*points, CatchUp("torch", "jax", None, None, "never")])
    assert open_above.high == math.inf and open_above.never == 1
    none = catch_up_interval([CatchUp("jax", "jax", None, None, "jax ahead from the first step")])
    assert none.seconds is None and none.never == 1


def test_startup_words_name_who_starts_first_cold_and_warm_and_the_catch_up():
    from report_fixtures import startup_blob as blob

    from suite.core.startup import startup_table, startup_words

    (jax, torch) = startup_table(blob())
    assert jax["cold_s"] == 11.0 and jax["warm_s"] == 3.0 and torch["cold_s"] == 1.0
    words = startup_words(blob(), "cnn")
    assert words.startswith("torch first by 10 s cold (2 s warm)"), words
    assert "jax catches up after 21 s [" in words, words
    # warm, jax starts first: said so
    assert "(warm: jax first by" in startup_words(blob(warm_jax=0.5), "cnn")
    # a start-up so slow that one epoch is over before it catches up
    late = startup_words(blob(jax_start=(30.0, 31.0, 32.0)), "cnn")
    assert late.endswith("never within 468 steps"), late
    assert startup_words(blob(), "mlp") == "not measured"
