"""Every built-in model's gradient check must pass rounding-size differences and fail a
perturbation of 10x a variable's bound, and a 1e-3 relative error in the final Dense
kernel's gradient (docs/checks.md, "The tolerance rule")."""

import numpy as np
import pytest

from models import MODELS, get_model
from suite.checks.grads.judge import _judge
from suite.checks.grads.reductions import model_terms
from suite.core.rounding import LOGITS, PAIR, bound

BATCH = 256


@pytest.fixture(scope="module", params=sorted(MODELS))
def model_case(request):
    model = get_model(request.param).build()
    terms = model_terms(model, BATCH, 10)
    rng = np.random.default_rng(0)
    grads = {v.path: rng.normal(size=v.shape) for v in model.trainable_variables}
    final = next(v.path for v in reversed(model.trainable_variables) if v.path.endswith("kernel"))
    return request.param, terms, grads, final


def _verdict(terms, ga, gb) -> dict:
    logits = np.ones((4, 10))
    return _judge(ga, gb, logits, logits, 1.0, 1.0, "float32", terms=terms, sides=PAIR)


def test_rounding_size_differences_pass(model_case):
    _, terms, g, _ = model_case
    rng = np.random.default_rng(1)
    # every element off by a quarter of its variable's pair bound (relative to max|g|)
    near = {}
    for k, v in g.items():
        size = 0.25 * bound(terms[k], "float32", PAIR) * np.abs(v).max()
        near[k] = v + size * rng.uniform(-1, 1, v.shape)
    assert _verdict(terms, near, g)["pass"]


def test_ten_times_a_variables_bound_fails(model_case):
    name, terms, g, _ = model_case
    for k, v in g.items():
        wrong = dict(g)
        wrong[k] = v.copy()
        wrong[k].flat[0] += 10 * bound(terms[k], "float32", PAIR) * np.abs(v).max()
        row = _verdict(terms, wrong, g)
        assert not row["pass"], f"{name}: {k}"
        assert row["worst"]["variable"] == k  # the report names the variable


def test_final_dense_kernel_off_by_1e3_fails(model_case):
    name, terms, g, final = model_case
    wrong = {**g, final: g[final] * (1 + 1e-3)}
    assert bound(terms[final], "float32", PAIR) < 1e-3 / 3, name  # with margin
    assert not _verdict(terms, wrong, g)["pass"], name
    assert bound(terms[LOGITS], "float32", PAIR) < 1e-3
