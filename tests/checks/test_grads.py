"""The comparison must be able to fail: hand-made gradients, numpy references."""

import numpy as np
import pytest

from suite.checks.grads.diffs import compare_arrays, compare_gradients, verdict
from suite.checks.grads.references import explain_by_kinks, mlp_reference, softmax_reference
from suite.core.schemas import TOLERANCE, tolerance, weighted_layers
from suite.core.weights import make_initial_weights

MLP_SHAPES = {
    "hidden1/kernel": (784, 100),
    "hidden1/bias": (100,),
    "hidden2/kernel": (100, 100),
    "hidden2/bias": (100,),
    "logits/kernel": (100, 10),
    "logits/bias": (10,),
}


def test_compare_arrays_hand_worked():
    d = compare_arrays([1.0, 2.0, -4.0], [1.0, 2.5, -4.0])
    assert d.max_abs == 0.5 and d.rel == pytest.approx(0.5 / 4.0)
    # a.b = 1 + 5 + 16, |a|^2 = 21, |b|^2 = 1 + 6.25 + 16
    assert d.cosine == pytest.approx(22 / (np.sqrt(21) * np.sqrt(23.25)))
    assert compare_arrays([0.0], [0.0]).rel == 0.0
    assert compare_arrays([1.0, 2.0], [1.0]).rel == float("inf")


def _grads(seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(np.float32) for k, s in MLP_SHAPES.items()}


def _passes(ga, gb, dtype="float32"):
    per_var, overall, problems = compare_gradients(ga, gb)
    return verdict([*per_var.values(), overall], problems, dtype)


def test_identical_and_rounded_gradients_pass():
    g = _grads()
    assert _passes(g, {k: v.copy() for k, v in g.items()})
    noisy = {k: v * (1 + np.float32(1e-6)) for k, v in g.items()}
    assert _passes(g, noisy)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_one_element_perturbed_by_1e_3_fails(dtype):
    g = _grads()
    bad = {k: v.copy() for k, v in g.items()}
    k = "hidden2/kernel"
    bad[k][3, 7] += 1e-3 * np.abs(bad[k]).max()
    assert not _passes(g, bad, dtype)


def test_swapped_variables_fail():
    g = _grads()
    swapped = dict(g)
    swapped["hidden1/bias"], swapped["hidden2/bias"] = g["hidden2/bias"], g["hidden1/bias"]
    assert not _passes(g, swapped)
    # different shapes swapped: reported as a structural problem
    other = dict(g)
    other["logits/bias"], other["hidden1/bias"] = g["hidden1/bias"], g["logits/bias"]
    _, _, problems = compare_gradients(g, other)
    assert problems and not _passes(g, other)


def test_missing_variable_fails():
    g = _grads()
    partial = {k: v for k, v in g.items() if k != "logits/bias"}
    assert not _passes(g, partial)


def test_tolerances_are_ordered():
    assert TOLERANCE["float64"]["rel"] < TOLERANCE["float32"]["rel"] < 1e-3
    assert TOLERANCE["float32"]["rel"] < tolerance("mixed_bfloat16", 1)["rel"]


def test_bfloat16_tolerance_is_derived_from_its_significand_and_depth():
    # u = 2**-8: 4 L u for L weighted layers (2L roundings on each of two sides)
    assert tolerance("mixed_bfloat16", 1)["rel"] == 4 * 2**-8
    assert tolerance("mixed_bfloat16", 3)["rel"] == pytest.approx(0.046875)
    assert tolerance("mixed_bfloat16", 3)["cosine"] == pytest.approx(1 - 0.046875**2 / 2)
    assert tolerance("float32", 3) == TOLERANCE["float32"]  # depth changes no other dtype
    assert weighted_layers(_grads()) == 3  # hidden1, hidden2, logits kernels


def test_bfloat16_rounding_passes_its_tolerance_and_fails_float32s():
    """Every gradient rounded to bfloat16 once on each side (what one layer's rounding
    does) passes the bfloat16 bound and must fail float32's; a 10% error fails both."""
    import ml_dtypes

    g = _grads()
    rng = np.random.default_rng(1)
    jitter = {k: v * (1 + 2**-9 * rng.uniform(-1, 1, v.shape)) for k, v in g.items()}
    rounded = {k: v.astype(ml_dtypes.bfloat16).astype(np.float32) for k, v in jitter.items()}
    bf16 = tolerance("mixed_bfloat16", weighted_layers(g))
    assert _passes(g, rounded, bf16)
    assert not _passes(g, rounded, "float32")  # the must-fail: float32 would reject it
    wrong = {**rounded, "hidden2/kernel": rounded["hidden2/kernel"] * 1.1}
    assert not _passes(g, wrong, bf16)


def _numeric_grad(loss_fn, w, key, idx, eps=1e-6):
    plus, minus = dict(w), dict(w)
    plus[key], minus[key] = w[key].copy(), w[key].copy()
    plus[key][idx] += eps
    minus[key][idx] -= eps
    return (loss_fn(plus) - loss_fn(minus)) / (2 * eps)


def test_softmax_reference_matches_finite_differences():
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28, 1)), rng.integers(0, 10, 16)
    w = {"logits/kernel": rng.normal(0, 0.05, (784, 10)), "logits/bias": rng.normal(0, 0.1, 10)}
    loss, logits, grads = softmax_reference(x, y, w["logits/kernel"], w["logits/bias"])
    assert logits.shape == (16, 10)

    def loss_fn(v):
        return softmax_reference(x, y, v["logits/kernel"], v["logits/bias"])[0]

    for key, idx in [("logits/kernel", (400, 3)), ("logits/kernel", (17, 9)), ("logits/bias", 5)]:
        assert grads[key][idx] == pytest.approx(_numeric_grad(loss_fn, w, key, idx), rel=1e-5)


def test_softmax_reference_rejects_a_wrong_gradient():
    rng = np.random.default_rng(1)
    x, y = rng.random((32, 28, 28, 1)), rng.integers(0, 10, 32)
    kernel, bias = rng.normal(0, 0.05, (784, 10)), np.zeros(10)
    _, _, grads = softmax_reference(x, y, kernel, bias)
    wrong = dict(grads)
    wrong["logits/kernel"] = grads["logits/kernel"] * len(y)  # forgot the 1/N
    assert not _passes(grads, wrong, "float64")
    wrong = dict(grads)
    wrong["logits/bias"] = grads["logits/bias"] + 1e-3 * np.abs(grads["logits/bias"]).max()
    assert not _passes(grads, wrong, "float64")


def test_mlp_reference_matches_finite_differences():
    rng = np.random.default_rng(2)
    x, y = rng.random((8, 28, 28, 1)), rng.integers(0, 10, 8)
    w = {k: v.astype(np.float64) for k, v in make_initial_weights(MLP_SHAPES, 3).items()}
    w["hidden1/bias"] = rng.normal(0, 0.1, 100)
    _, _, grads, _ = mlp_reference(x, y, w)

    def loss_fn(v):
        return mlp_reference(x, y, v)[0]

    for key, idx in [
        ("hidden1/kernel", (300, 4)),
        ("hidden2/kernel", (5, 6)),
        ("hidden2/bias", 9),
        ("logits/kernel", (2, 3)),
    ]:
        assert grads[key][idx] == pytest.approx(_numeric_grad(loss_fn, w, key, idx), rel=1e-4)


def test_relu_tie_is_explained_and_a_perturbation_is_not(mnist):
    """With seed-0 weights, one hidden2 pre-activation of the first 256 images lies
    1.6e-9 from zero: flipping its ReLU moves hidden gradients by ~2.6%."""
    from suite.core.data import preprocess

    x, y = preprocess(mnist.x_train[:256]), mnist.y_train[:256].astype(np.int64)
    w = make_initial_weights(MLP_SHAPES, 0)
    _, _, exact, kinks = mlp_reference(x, y, w)
    assert kinks and kinks[0][0] == "hidden2"
    _, _, flipped, _ = mlp_reference(x, y, w, frozenset([tuple(kinks[0])]))
    assert not _passes(exact, flipped)
    assert explain_by_kinks(flipped, x, y, w, "float32") == [list(kinks[0])]
    assert explain_by_kinks(exact, x, y, w, "float32") == []
    bad = {k: v.copy() for k, v in exact.items()}
    bad["logits/kernel"][0, 0] += 1e-2 * np.abs(bad["logits/kernel"]).max()
    assert explain_by_kinks(bad, x, y, w, "float32") is None


def test_small_element_wrong_by_100_percent_fails():
    """An element 20,000x smaller than its variable's largest, wrong by 100%: the
    per-variable max|a-b|/max|b| (5e-5) passes it; the element-wise check must not."""
    g = _grads()
    k = "hidden2/kernel"
    bad = {key: v.copy() for key, v in g.items()}
    big = np.abs(bad[k]).max()
    bad[k][0, 0] = 5e-5 * big  # a small element ...
    ref = {key: v.copy() for key, v in bad.items()}
    ref[k][0, 0] = 1e-4 * big  # ... 100% wrong on the other side
    per_var, overall, problems = compare_gradients(bad, ref)
    assert per_var[k].rel < TOLERANCE["float32"]["rel"]  # the per-variable check passes it
    assert per_var[k].elem > TOLERANCE["float32"]["elem"]  # the element-wise one does not
    assert not verdict([*per_var.values(), overall], problems, "float32")


def test_tie_needs_logits_and_loss_to_agree(mnist):
    from suite.checks.grads.judge import _explain_ties, _judge
    from suite.core.data import preprocess

    x, y = preprocess(mnist.x_train[:256]), mnist.y_train[:256].astype(np.int64)
    w = make_initial_weights(MLP_SHAPES, 0)
    loss, logits, exact, kinks = mlp_reference(x, y, w)
    _, _, flipped, _ = mlp_reference(x, y, w, frozenset([tuple(kinks[0])]))
    tie = _explain_ties(_judge(flipped, exact, logits, logits, loss, loss, "float32"),
                        "mlp", [flipped], x, y, w)  # fmt: skip
    assert tie["status"] == "tie"
    wrong_logits = logits * (1 + 1e-2)
    row = _judge(flipped, exact, wrong_logits, logits, loss, loss, "float32")
    assert _explain_ties(row, "mlp", [flipped], x, y, w)["status"] == "FAIL"
    row = _judge(flipped, exact, logits, logits, loss * 1.01, loss, "float32")
    assert _explain_ties(row, "mlp", [flipped], x, y, w)["status"] == "FAIL"


def test_float64_computed_in_float32_is_not_counted():
    from suite.checks.grads.judge import _judge, _not_applicable
    from suite.core.schemas import grads_failures

    def all_pass(report):
        return not grads_failures(report)

    g = _grads()
    row = _not_applicable(_judge(g, g, [1.0], [1.0], 1.0, 1.0, "float32"), "float64")
    assert row["status"] == "n/a" and row["pass"] is None
    failing = {**row, "status": "FAIL", "pass": False}
    assert all_pass({"pairs": [row], "reference": []})
    assert not all_pass({"pairs": [row, failing], "reference": []})


def test_float64_is_decided_from_the_computation_itself():
    from suite.checks.grads.judge import computed_in_float64

    def side(error, same=True):
        pre = "mlp/float64/precision/"
        return {pre + "last_layer_rel_error": np.asarray(error), pre + "all_arrays_in_dtype": same}

    assert computed_in_float64(side(2e-16), "mlp")
    # float64 arrays computed in float32 (Keras' torch matmul): about 1e-7, not float64
    assert not computed_in_float64(side(7e-7), "mlp")
    assert not computed_in_float64(side(1e-16, same=False), "mlp")  # a float32 array came back
    assert not computed_in_float64({}, "mlp")  # float64 never ran


@pytest.mark.parametrize(
    "response, float64",
    [
        (3.0, True),  # three times the nudge, three times the answer: float64 throughout
        (0.0, False),  # a layer rounded the input to float32: the nudges vanished
        (1.0, False),  # an inner layer in float32 (JAX's LSTM): the same float32 jump
        (None, True),  # a file from before the nudge: the last-layer check alone
    ],
)
def test_float64_inner_layers_judged_by_the_nudge(response, float64):
    from suite.checks.grads.judge import computed_in_float64

    pre = "lstm/float64/precision/"
    side = {pre + "last_layer_rel_error": np.asarray(1e-16), pre + "all_arrays_in_dtype": True}
    if response is not None:
        side[pre + "perturbation_response"] = np.asarray(response)
    assert computed_in_float64(side, "lstm") is float64


def test_a_vanishing_gradient_is_judged_on_the_whole_gradients_scale():
    """An attention key bias: zero in exact arithmetic, rounding noise on each side, so
    its own max|b| is no scale; below the tolerance times the whole gradient's max on
    both sides it is judged on the whole gradient's scale. Must-fail: the same noise on
    a variable that is not small on both sides, and a small gradient against a large one."""
    big = np.linspace(-1.0, 1.0, 50)
    a = {"k/kernel": big, "k/bias": np.array([1e-9, -2e-9])}
    b = {"k/kernel": big, "k/bias": np.array([-1e-9, 3e-9])}
    per_var, overall, problems = compare_gradients(a, b, TOLERANCE["float32"]["rel"])
    assert verdict([*per_var.values(), overall], problems, "float32")
    plain, overall, problems = compare_gradients(a, b)  # without the rule: its own scale
    assert not verdict([*plain.values(), overall], problems, "float32")
    wrong = {**b, "k/bias": np.array([0.5, -0.5])}  # a real gradient on one side
    per_var, overall, problems = compare_gradients(a, wrong, TOLERANCE["float32"]["rel"])
    assert not verdict([*per_var.values(), overall], problems, "float32")


def test_a_backend_summing_bias_gradients_in_the_half_type_is_named():
    from suite.checks.grads.run import name_half_sums

    def row(a, b, bias_rel, kernel_rel=0.001, status="FAIL"):
        return {
            "model": "cnn", "dtype": "mixed_bfloat16", "a": a, "b": b, "status": status,
            "per_variable": {
                "logits/bias": {"rel": bias_rel}, "logits/kernel": {"rel": kernel_rel},
            },
            "tolerance": {"per_variable": {"logits/bias": 0.04, "logits/kernel": 0.04},
                          "logits": 0.03, "loss": 0.03},
            "logits": {"rel": 0.0}, "loss": {"rel": 0.0},
        }  # fmt: skip

    rows = name_half_sums([row("torch", "tensorflow", 0.065), row("jax", "tensorflow", 0.07),
                           row("torch", "jax", 0.005, status="pass")])  # fmt: skip
    assert [r["status"] for r in rows[:2]] == [
        "differs: tensorflow sums bias gradients in bfloat16"
    ] * 2
    # a kernel past its bound is no bias sum: it stays a plain failure
    rows = name_half_sums([row("torch", "tensorflow", 0.065, kernel_rel=0.1)])
    assert rows[0]["status"] == "FAIL"
