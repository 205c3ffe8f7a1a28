"""The numbers as people read them: about three significant figures, one minus sign,
no negative zero, numeric columns right-aligned, anchors as GitHub makes them."""

import pytest

from suite.core.stats import WITHIN_ONE_RUN, Ratio
from suite.report.layout import anchor, ci_from, num, numeric_columns, signed


@pytest.mark.parametrize(
    "x, text",
    [
        (21.738, "21.7"),
        (4672.4, "4,670"),
        (954.2, "954"),
        (0.52549, "0.525"),
        (-3.14159, "−3.14"),
        (-0.0001, "−0.000100"),
        (0.0, "0"),
        (None, "-"),
    ],
)
def test_num_keeps_three_significant_figures(x, text):
    assert num(x) == text


@pytest.mark.parametrize(
    "x, text", [(0.031, "+0.03"), (-0.31, "−0.31"), (-0.001, "0.00"), (0.004, "0.00")]
)
def test_signed_never_writes_negative_zero(x, text):
    assert signed(x) == text


def test_numeric_columns_are_those_of_numbers_only():
    rows = [
        ["jax", "4,670", "1 (fastest)", "-", "3.01× faster than torch [2.67, 3.39]"],
        ["torch", "2,430", "1.92 [1.82, 2.02]", "+0.03 [−0.10, +0.20] equivalent", "same"],
    ]
    assert numeric_columns(rows) == [False, True, True, True, False]


def test_anchor_is_githubs():
    assert anchor("Which backend should I use?") == "which-backend-should-i-use"
    assert anchor("Measurements: CPU: AMD EPYC, 2 logical cores") == (
        "measurements-cpu-amd-epyc-2-logical-cores"
    )


def test_ci_from_names_its_units():
    assert ci_from(Ratio(1.2, 1.1, 1.3, 3, "runs as units (3 runs), t-interval")) == "3 runs"
    assert ci_from(Ratio(1.2, 1.1, 1.3, 24, WITHIN_ONE_RUN)) == "24 rounds"
    assert ci_from(Ratio(1.2, None, None, 1, "unpaired, too few runs")) == "none (1 run)"
    assert ci_from(None) == "-"
