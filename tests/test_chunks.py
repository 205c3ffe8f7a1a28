"""Chunk sizes, step splits and the order of turns (pure functions)."""

import pytest

from suite.chunks import choose_chunk_steps, latency_plan, round_order, split_steps


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
    parts = split_steps(443, 55)
    assert parts == [(56, 3), (55, 5)] and sum(s * c for s, c in parts) == 443
    assert split_steps(440, 55) == [(55, 8)]
    assert split_steps(3, 55) == [(3, 1)]
    assert split_steps(0, 55) == []


def test_latency_plan_leaves_chunks_most_of_the_epoch():
    assert latency_plan(5, 20, 468) == (5, 25)
    assert latency_plan(2, 20, 8) == (2, 5)  # 2 warm-up + half of the 6 left
    assert latency_plan(5, 20, 5) == (2, 3)  # a tiny epoch still keeps 2 steps for chunks


def test_round_order_alternates():
    names = ["a", "b", "c"]
    orders = ["".join(round_order(names, i)) for i in range(6)]
    assert orders == ["abc", "cba", "bca", "acb", "cab", "bac"]
    firsts = [round_order(names, i)[0] for i in range(6)]
    assert sorted(firsts) == ["a", "a", "b", "b", "c", "c"]  # everyone leads equally often
