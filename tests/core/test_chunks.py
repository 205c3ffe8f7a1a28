"""Chunk sizes, step splits and the order of turns (pure functions)."""

import pytest

from suite.core.chunks import (
    choose_chunk_steps,
    latency_plan,
    plan_chunk_steps,
    round_order,
    split_steps,
)


def test_chunk_size_rules():
    # fast steps: capped so that at least 8 chunks fit (443 // 8 = 55)
    assert choose_chunk_steps(443, 0.0003) == 55
    # slow steps: about 2 s of work (0.09 s/step -> 22), and at least 20
    assert choose_chunk_steps(443, 0.09) == 22
    assert choose_chunk_steps(10_000, 0.5) == 20
    # never more than one epoch
    assert choose_chunk_steps(3744, 0.0003, epoch_steps=468) == 468
    assert choose_chunk_steps(3, 0.001) == 1
    with pytest.raises(ValueError):
        choose_chunk_steps(0, 0.001)


def test_split_steps_never_leaves_a_runt():
    parts, tail = split_steps(443, 55)
    assert parts == [(56, 3), (55, 5)] and sum(s * c for s, c in parts) == 443 and tail == 0
    assert split_steps(440, 55) == ([(55, 8)], 0)
    assert split_steps(3, 55) == ([(3, 1)], 0)
    assert split_steps(0, 55) == ([], 0)


def test_steps_per_execution_times_whole_executions_only():
    # 443 steps at 8 per execution: 55 whole executions in chunks, 3 steps untimed
    parts, tail = split_steps(443, 56, k=8)
    assert tail == 3 and sum(s * c for s, c in parts) == 440
    assert all(s % 8 == 0 for s, _ in parts)
    assert split_steps(7, 56, k=8) == ([], 7)  # no whole execution: nothing timed
    # warm-up and latency steps are whole executions too (rounded up)
    assert latency_plan(5, 20, 468, k=8) == (8, 32)
    assert latency_plan(5, 20, 468, k=1) == (5, 25)


def test_chunk_plan_is_a_multiple_of_steps_per_execution():
    from suite.core.config import RunConfig

    cfg = RunConfig(backend="jax", model="softmax", epochs=1, steps_per_execution=8)
    chunk = plan_chunk_steps(cfg.resolved(), [0.0003])
    assert chunk % 8 == 0 and chunk > 0
    assert (
        plan_chunk_steps(RunConfig(backend="jax", model="softmax", epochs=1).resolved(), [0.0003])
        == 55
    )


def test_round_order_alternates():
    names = ["a", "b", "c"]
    orders = ["".join(round_order(names, i)) for i in range(6)]
    assert orders == ["abc", "cba", "bca", "acb", "cab", "bac"]
    firsts = [round_order(names, i)[0] for i in range(6)]
    assert sorted(firsts) == ["a", "a", "b", "b", "c", "c"]  # everyone leads equally often
