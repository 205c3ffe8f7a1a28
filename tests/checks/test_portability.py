"""The transfer verdict: must pass equal logits and fail real differences."""

import numpy as np
import pytest

from suite.checks.portability.judge import LOGIT_RTOL, judge_all, judge_transfer
from suite.core.errors import SuiteError
from suite.core.schemas import transfer_from_dict
from suite.core.schemas import transfers_pass as all_pass

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(0, 5, size=(500, 10)).astype(np.float32)


def test_same_logits_pass():
    r = judge_transfer("mlp", "jax", "torch", LOGITS, LOGITS.copy())
    assert r.verdict == "pass" and r.max_abs_logit_diff == 0 and r.labels_differ == 0


def test_float32_rounding_passes():
    noisy = LOGITS * (1 + RNG.uniform(-3e-7, 3e-7, LOGITS.shape)).astype(np.float32)
    assert judge_transfer("mlp", "jax", "torch", LOGITS, noisy).verdict == "pass"


def test_one_logit_off_beyond_tolerance_fails():
    bad = LOGITS.copy()
    bad[123, 4] += 3 * LOGIT_RTOL * np.abs(LOGITS).max()
    r = judge_transfer("mlp", "jax", "torch", LOGITS, bad)
    assert r.verdict == "FAIL" and r.max_abs_logit_diff > r.tolerance


def test_a_flipped_label_away_from_a_tie_fails():
    tiny = LOGITS.copy()
    row = int(np.argmax(np.ptp(LOGITS, axis=1)))  # a clear winner
    tiny[row] = tiny[row][::-1]  # its label changes, far from a tie
    r = judge_transfer("cnn", "torch", "jax", LOGITS, tiny)
    assert r.verdict == "FAIL" and r.labels_differ == 1


def test_a_flip_at_an_exact_tie_is_allowed():
    tied = LOGITS.copy()
    tied[0, :2] = [7.0, 7.0 - 1e-6]  # top two tied within float32 noise
    tied[0, 2:] = 0
    other = tied.copy()
    other[0, :2] = [7.0 - 1e-6, 7.0]
    r = judge_transfer("cnn", "torch", "jax", tied, other)
    assert r.labels_differ == 1 and r.verdict == "pass"


def test_pairs_are_judged_against_the_saving_backend():
    logits = {("softmax", a, b): LOGITS for a in ("jax", "torch") for b in ("jax", "torch")}
    logits["softmax", "jax", "torch"] = LOGITS + 1.0
    rows = judge_all(logits)
    assert [(r.source, r.target, r.verdict) for r in rows] == [
        ("jax", "torch", "FAIL"),
        ("torch", "jax", "pass"),
    ]
    assert not all_pass(rows) and not all_pass([])


def test_shape_mismatch_and_malformed_rows_are_refused():
    with pytest.raises(SuiteError, match="shape"):
        judge_transfer("mlp", "jax", "torch", LOGITS, LOGITS[:10])
    with pytest.raises(SuiteError, match="malformed"):
        transfer_from_dict({"model": "mlp"})


def test_a_variable_that_did_not_travel_fails_even_with_equal_logits():
    """BatchNorm's moving statistics are compared as loaded, bit for bit: a transfer whose
    variables differ fails although these logits agree; unchecked (older files) passes."""
    assert judge_transfer("resnet", "jax", "torch", LOGITS, LOGITS, True).verdict == "pass"
    assert judge_transfer("resnet", "jax", "torch", LOGITS, LOGITS, False).verdict == "FAIL"
    assert judge_transfer("resnet", "jax", "torch", LOGITS, LOGITS, None).verdict == "pass"
    rows = judge_all(
        {("resnet", "jax", "jax"): LOGITS, ("resnet", "jax", "torch"): LOGITS},
        {("resnet", "jax", "torch"): False},
    )
    assert [r.verdict for r in rows] == ["FAIL"] and not all_pass(rows)
