"""The schemas every reader imports: shape checks that must reject, and finite numbers."""

import pytest

from suite.core.errors import SuiteError
from suite.core.schemas import (
    GRADS,
    GRADS_VERSION,
    ROUNDS,
    SWEEP,
    check_shape,
    finite,
    portability_from_dict,
    recipe_result_from_dict,
)


def test_finite_refuses_what_the_report_cannot_compute_with():
    assert finite(1) and finite(2.5)
    for bad in (True, float("nan"), float("inf"), 10**400, "3", None):
        assert not finite(bad), bad


@pytest.mark.parametrize(
    "blob, words",
    [
        ({"schema": GRADS, "schema_version": GRADS_VERSION + 1}, "unknown schema version"),
        ({"schema": GRADS, "schema_version": GRADS_VERSION}, "settings must be an object"),
        ({"schema": SWEEP, "schema_version": 2, "backend": 1, "model": "m"}, "must be names"),
        ({"schema": ROUNDS, "schema_version": 1, "schedules": [{"turns": [{}]}]}, "wall_s"),
    ],
)
def test_check_shape_rejects_and_names_the_file(blob, words):
    with pytest.raises(SuiteError, match=words) as e:
        check_shape("f.json", blob)
    assert str(e.value).startswith("f.json: ")


def test_a_well_formed_rounds_log_passes():
    turn = {"wall_s": 0.1, "waiting_cpu_s": {"jax": 0.0}}
    blob = {"schema": ROUNDS, "schema_version": 1, "schedules": [{"turns": [turn]}]}
    assert check_shape("f.json", blob) is blob


def test_portability_and_recipe_records_reject_bad_values():
    with pytest.raises(SuiteError, match="version or transfers"):
        portability_from_dict({"schema_version": 1, "transfers": None})
    with pytest.raises(SuiteError, match="unknown recipe or accuracy"):
        recipe_result_from_dict(
            {
                "recipe": "nope", "backend": "jax", "device": "cpu", "seed": 0, "epochs": 1,
                "train_examples": 1, "test_examples": 1, "accuracy": {"1": 0.5},
                "final_accuracy": 0.5, "published": None, "wall_seconds": 1.0,
                "environment": {},
            }
        )  # fmt: skip
