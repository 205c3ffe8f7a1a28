"""The per-variable rounding bounds, worked by hand on a three-layer chain."""

import math

import pytest

from suite.core.rounding import (
    LOGITS,
    LOSS,
    PAIR,
    ChainTerms,
    LayerReductions,
    bound,
    chain_terms,
)

U = 2.0**-24


def _chain():
    return [
        LayerReductions("conv", ("conv/kernel",), (9,), (36,), 100),
        LayerReductions("bn", ("bn/gamma",), (100, 100), (100, 100), 100, normalising=True),
        LayerReductions("pool", (), (4,)),
        LayerReductions("dense", ("dense/kernel",), (16,), (10,), 8),
    ]


def test_terms_hand_worked():
    t = chain_terms(_chain(), batch=8, classes=10)
    typical = 3 + 10 + 10 + 2 + 4  # sum of sqrt L over the forward
    worst = 9 + 100 + 100 + 4 + 16
    assert t["conv/kernel"] == ChainTerms(typical, worst, 100 + 200 + 10, True)
    assert t["bn/gamma"] == ChainTerms(typical, worst, 100 + 10, True)
    # nothing normalises at or after the last layer: its forward counts typically
    assert t["dense/kernel"] == ChainTerms(typical, worst, 8, False)
    assert t["dense/kernel"].length == typical + 8
    assert t["conv/kernel"].length == worst + 310
    assert t[LOGITS].length == typical
    assert t[LOSS].length == pytest.approx(typical + math.sqrt(10) + math.sqrt(8))


def test_bound_scales_with_unit_roundoff_and_sides():
    t = ChainTerms(10.0, 100.0, 50.0, False)
    assert bound(t, "float32") == pytest.approx(60 * U)
    assert bound(t, "float32", PAIR) == pytest.approx(120 * U)
    assert bound(t, "float64") == pytest.approx(60 * 2.0**-53)
    assert ChainTerms.from_list(t.as_list()) == t


def test_a_mixed_policy_adds_its_half_types_u_per_rounding():
    layers = [
        LayerReductions("rnn", ("rnn/kernel",), (20,) * 3, (8,) * 3, 30, roundings=3),
        LayerReductions("dense", ("dense/kernel",), (16,), (10,), 8, roundings=1),
    ]
    t = chain_terms(layers, batch=8, classes=10)
    # the recurrent layer rounds at each of its 3 steps: 4 roundings forward; its own
    # gradient comes back through both layers' (4), the last layer's through its own (1)
    assert (t["rnn/kernel"].rounds_forward, t["rnn/kernel"].rounds_backward) == (4, 4)
    assert (t["dense/kernel"].rounds_forward, t["dense/kernel"].rounds_backward) == (4, 1)
    float32 = bound(t["dense/kernel"], "float32")
    assert bound(t["dense/kernel"], "mixed_bfloat16") == pytest.approx(float32 + 5 * 2.0**-8)
    assert ChainTerms.from_list(t["rnn/kernel"].as_list()) == t["rnn/kernel"]
