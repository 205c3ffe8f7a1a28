"""The verdict's words, worked out by hand: which backend to use and by how much, the
accuracy in words, time to target, gradients, and the conditions line."""

import pytest
from report_fixtures import make_run

from suite.core.results import write_result
from suite.core.stats import Difference, Ratio
from suite.report.build import build_report
from suite.report.sections import workload_table
from suite.report.verdict import (
    accuracy_words,
    conditions_text,
    gradient_words,
    speed_words,
    target_words,
    tuned_text,
)

RUNS = "runs as units (3 runs), t-interval"


def _speed(*rest):
    rows = [{"backend": "tensorflow", "ratio": None, "verdict": "fastest"}]
    for backend, q, verdict in rest:
        rows.append({"backend": backend, "ratio": q, "verdict": verdict})
    return rows


def test_a_clear_winner_is_named_with_its_margin_over_the_next():
    use, speed = speed_words(
        _speed(
            ("jax", Ratio(1.33, 1.27, 1.38, 3, RUNS), "slower"),
            ("torch", Ratio(1.92, 1.82, 2.02, 3, RUNS), "slower"),
        )
    )
    assert use == "tensorflow"
    assert speed == "1.33× faster than jax [1.27, 1.38]"


def test_backends_within_noise_are_named_together_and_called_indistinguishable():
    use, speed = speed_words(
        _speed(
            ("jax", Ratio(1.04, 0.97, 1.11, 3, RUNS), "indistinguishable"),
            ("torch", Ratio(1.92, 1.82, 2.02, 3, RUNS), "slower"),
        )
    )
    assert use == "tensorflow or jax"
    assert speed == (
        "indistinguishable here from jax (1.04× [0.97, 1.11]); "
        "tensorflow 1.92× faster than torch [1.82, 2.02]"
    )
    # and a 3% lead with a CI that excludes 1 is still below the 5% threshold: a tie
    assert speed_words(_speed(("jax", Ratio(1.03, 1.01, 1.05, 3, RUNS), "indistinguishable")))[
        0
    ] == ("tensorflow or jax")


def _acc(*diffs, n=3):
    rows = [{"backend": "tensorflow", "model": "m", "variant": "v", "n": n, "difference": None}]
    for backend, d in diffs:
        rows.append(
            {"backend": backend, "model": "m", "variant": "v", "n": n, "difference": d,
             "reference": "tensorflow"}
        )  # fmt: skip
    return rows


def _d(mean, low, high, equivalent, n=3):
    return Difference(mean, low, high, n, 0.002, 0.01 if equivalent else 0.4, equivalent)


@pytest.mark.parametrize(
    "diffs, words",
    [
        ([("jax", _d(0, 0, 0, True)), ("torch", _d(0, 0, 0, True))], "identical on all 3 seeds"),
        (
            [("jax", _d(0.0003, -0.0005, 0.0011, True)), ("torch", _d(0, 0, 0, True))],
            "equivalent within ±0.2 points (3 seeds)",
        ),
        (
            [("jax", _d(-0.0031, -0.0050, -0.0012, False)), ("torch", _d(0, 0, 0, True))],
            "differs: jax −0.31 points vs tensorflow [−0.50, −0.12]",
        ),
        (
            [("jax", _d(0.0003, -0.0030, 0.0036, False))],
            "no difference seen; 3 seeds too few to show equivalence within ±0.2 points "
            "(widest CI [−0.30, +0.36])",
        ),
        ([("jax", Difference(0.0, None, None, 1, 0.002, None, None))], "1 seed: cannot tell"),
    ],
)
def test_accuracy_in_words(diffs, words):
    assert accuracy_words(_acc(*diffs), "m", "v").startswith(words)


def test_a_difference_that_does_not_vanish_is_never_called_identical():
    # every seed agrees but one: the spread is not zero, so not "identical"
    words = accuracy_words(_acc(("jax", _d(0.0001, -0.0002, 0.0004, True))), "m", "v")
    assert "identical" not in words and words.startswith("equivalent")


def test_time_to_target_and_its_absence():
    rows = [{"backend": "jax", "reached": 2, "seeds": 3, "time_to_accuracy_s": 41.234}]
    acc = [{"backend": "jax", "target": 0.97}]
    assert target_words(rows, acc, "jax") == "41.2 s (2/3 seeds)"
    rows[0]["reached"] = 0
    assert target_words(rows, acc, "jax") == "not reached (0/3 seeds)"
    assert target_words(rows, [{"backend": "jax", "target": None}], "jax").startswith("no target")


def test_gradient_words_name_the_worst_failing_pair():
    ok = {"a": "jax", "b": "torch", "dtype": "float32", "status": "pass", "pass": True,
          "model": "resnet", "overall": {"rel": 1e-6}}  # fmt: skip
    bad = {**ok, "a": "tensorflow", "status": "FAIL", "pass": False, "overall": {"rel": 3e-3}}
    assert gradient_words({"pairs": [ok]}, "resnet") == "agree"
    assert gradient_words({"pairs": [ok, bad]}, "resnet").startswith(
        "differ: tensorflow vs torch in float32, 3.0e-03 relative"
    )
    assert gradient_words({"pairs": [ok, bad]}, "mlp") == "not checked"
    assert gradient_words(None, "resnet") == "not checked"
    # with the chain rule, the variable furthest past its own bound is named
    bad["worst"] = {"variable": "block2a_conv/kernel", "rel": 0.07, "bound": 0.06}
    assert gradient_words({"pairs": [ok, bad]}, "resnet").startswith(
        "differ: tensorflow vs torch in float32, block2a_conv/kernel 7.0e-02 > bound 6.0e-02"
    )


def test_conditions_name_the_machine_modes_recipes_and_dates(tmp_path):
    for backend, ms in (("jax", 1.0), ("torch", 2.0)):
        write_result(tmp_path / f"{backend}.json", make_run(backend, "mlp", 0, ms, 0.97))
    (d,) = build_report([tmp_path])["devices"]
    text = conditions_text(d["conditions"], [])
    for part in (
        "TestCPU, 2 logical cores, 24 GiB RAM, avx avx2 fma; no GPU",
        "jax 1.0 (jit unknown, steps_per_execution 1, 2 threads)",
        "images, batch 64, adam",
        "Trained 2026-12-01.",
        "no sweep in these folders",
    ):
        assert part in text, (part, text)
    (v,) = d["verdict"]
    assert (v.workload, v.use) == ("mlp", "jax") and v.speed.startswith("2.00× faster than torch")


def test_a_sweep_says_how_far_a_tuned_mode_moves_a_backend():
    sweep = {
        "backend": "tensorflow",
        "model": "softmax",
        "best_keras": "steps_per_execution=8",
        "modes": [
            {"mode": "default", "impl": "keras", "ms_per_step": 2.15},
            {"mode": "steps_per_execution=8", "impl": "keras", "ms_per_step": 1.0},
        ],
    }
    assert (
        "tensorflow softmax with steps_per_execution=8 2.15× its default speed (the sweep's "
        "median step times)" in tuned_text([sweep])
    )
    sweep["best_keras"] = "default"
    assert "found no mode clearly faster" in tuned_text([sweep])
    # a sweep with its paired gain quotes that one measurement, named
    gain = {"mode": "steps_per_execution=8", "ratio": 1.31, "ci": [1.2, 1.43], "wins": True}
    sweep.update(best_keras="steps_per_execution=8", gain=gain)
    assert (
        "tensorflow softmax with steps_per_execution=8 1.31× [1.20, 1.43] its default's "
        "throughput (the sweep's paired rounds)" in tuned_text([sweep])
    )
    # a fastest mode that did not clearly beat the default moved nothing
    sweep.update(
        best_keras="default", gain={**gain, "ratio": 1.04, "ci": [0.97, 1.11], "wins": False}
    )
    assert "found no mode clearly faster" in tuned_text([sweep])


def _mean_acc(backend, mean, target=0.985, reached=None):
    reached = mean >= target if reached is None and target is not None else bool(reached)
    return {"backend": backend, "mean": mean, "target": target, "reached": reached}


def test_learning_state_flags_chance_and_still_learning_and_judges_the_rest():
    from suite.report.verdict import learning_state

    # a constant predictor (MNIST's share of ones) compares nothing
    state = learning_state([_mean_acc("jax", 0.9), _mean_acc("torch", 0.1135)])
    assert state.startswith("did not learn (torch 11.3%)")
    # every backend below target: still learning, shown, not judged
    rows = [_mean_acc("jax", 0.7831), _mean_acc("torch", 0.7831), _mean_acc("tensorflow", 0.79)]
    state = learning_state(rows)
    assert state == "still learning (78%–79%; target 98.5%): not judged"
    # a miss beside a hit is a difference to judge, not a state
    assert learning_state([_mean_acc("jax", 0.99), _mean_acc("torch", 0.95)]) is None
    assert learning_state([_mean_acc("jax", 0.95, target=None)]) is None


def test_a_workload_disturbed_in_most_rounds_is_not_ranked(tmp_path):
    """Other processes took 1.5 cores during 10 of 12 rounds of mlp: mlp's verdict row
    and the conditions line say so and rank nothing. softmax, with only a slow speed
    probe before most chunks (a noisy single shot) and others at 0.3 of a core, is
    ranked."""
    from dataclasses import replace

    from suite.report.render import terminal_summary

    for model in ("mlp", "softmax"):
        for backend, ms in (("jax", 1.0), ("torch", 2.0)):
            r = make_run(backend, model, 0, ms, 0.95)
            busy = model == "mlp"
            chunks = [
                replace(c, steal_s=0.0, others_cpu_s=(1.5 if busy and i < 10 else 0.3) * c.seconds,
                        probe_ms=1.0 if busy or i % 4 == 0 else 2.0, copy_ms=1.0)
                for i, c in enumerate(r.chunks)
            ]  # fmt: skip
            write_result(tmp_path / "run" / f"{r.cell}.json", replace(r, chunks=chunks))
    report = build_report([tmp_path / "run"])
    d = report["devices"][0]
    rows = {v.workload: v for v in d["verdict"]}
    assert rows["mlp"].use == "not ranked"
    assert (
        "busy during 10 of 12 rounds (other processes used up to 1.50 of a core"
        in rows["mlp"].speed
    )
    assert rows["softmax"].use == "jax" and "faster than torch" in rows["softmax"].speed
    line = conditions_text(d["conditions"], [])
    assert "Disturbed: other work used the machine during most rounds of mlp" in line
    assert "Disturbed:" in terminal_summary(report)


def test_runs_that_disagree_are_named_and_not_ranked():
    split = Ratio(10.0, None, None, 24, "runs disagree: ...", runs=(12.0, 7.5))
    use, speed = speed_words(_speed(("torch", split, "indistinguishable")))
    assert use == "tensorflow or torch"
    assert speed == "not ranked against torch: runs disagree: 12.00×, 7.50× in separate runs"


def _workloads(tmp_path, speedup: dict, torch_ms=2.0):
    """mlp and cnn, float32 and mixed_bfloat16 each, jax and torch, 3 seeds; the mixed
    policy divides each backend's step time by ``speedup[backend]``."""
    d = tmp_path / "r"
    for model in ("mlp", "cnn"):
        for seed in range(3):
            for backend, ms in (("jax", 1.0), ("torch", torch_ms)):
                for policy, f in (("float32", 1.0), ("mixed_bfloat16", speedup[backend])):
                    r = make_run(backend, model, seed, ms / f, 0.97 + 0.003 * seed, policy=policy)
                    write_result(d / f"{r.cell}.json", r)
    (device,) = build_report([d])["devices"]
    return device


def test_one_verdict_row_per_workload_names_the_policy_that_pays(tmp_path):
    device = _workloads(tmp_path, {"jax": 1.5, "torch": 1.5})
    rows = device["workloads"]
    assert [v.workload for v in rows] == ["mlp", "cnn"]  # one row each, not one per variant
    assert len(device["verdict"]) == 4
    v = rows[0]
    assert v.use == "jax, mixed_bfloat16" and "faster than torch" in v.speed
    assert v.mixed.startswith("mixed_bfloat16: jax 1.5") and "torch 1." in v.mixed


def test_a_mixed_policy_that_is_slower_is_said_once_and_not_used(tmp_path):
    rows = _workloads(tmp_path, {"jax": 0.5, "torch": 0.5})["workloads"]
    assert {v.use for v in rows} == {"jax"}
    assert {v.mixed for v in rows} == {"mixed_bfloat16 slower on every backend here"}
    table, lines = workload_table(rows, "CPU")
    assert "mixed precision" not in table.headers  # the same in every row: one line
    assert "mixed precision: mixed_bfloat16 slower on every backend here" in lines[0]


def test_the_fastest_configuration_may_be_another_backend_in_the_mixed_policy(tmp_path):
    # mixed makes jax slower and torch 3x faster: torch in mixed_bfloat16 (0.67 ms a
    # step) beats jax in float32 (1 ms), paired by round, so that is the answer
    rows = _workloads(tmp_path, {"jax": 0.8, "torch": 3.0})["workloads"]
    assert {v.use for v in rows} == {"torch, mixed_bfloat16"}
    assert rows[0].speed.startswith("1.5") and "than jax in float32" in rows[0].speed
    assert rows[0].mixed.startswith("mixed_bfloat16: torch 2.99×")


def test_a_mixed_winner_within_the_noise_is_not_the_answer(tmp_path):
    # torch in mixed only 1.02x faster than jax in float32: not ranked, float32's answer
    rows = _workloads(tmp_path, {"jax": 0.8, "torch": 2.04})["workloads"]
    assert {v.use for v in rows} == {"jax"}


def test_a_mixed_variants_gradient_difference_shows_in_the_workload_row():
    from dataclasses import replace

    from suite.report.verdict import Verdict, _gradients

    base = Verdict("mlp (dtype_policy=float32)", "jax", "", "", "", "agree")
    base = replace(base, key=("mlp", "dtype_policy=float32"))
    mixed = Verdict("mlp (dtype_policy=mixed_bfloat16)", "jax", "", "", "", "differ: a vs b, x")
    mixed = replace(mixed, key=("mlp", "dtype_policy=mixed_bfloat16"))
    assert _gradients(base, [base, mixed]) == "agree; mixed_bfloat16: differ: a vs b"
    assert _gradients(base, [base]) == "agree"
